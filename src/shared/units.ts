// Parsing of the contract's durations (90s, 10m, 2h, 0) and sizes/rates (KiB, MiB, GiB, bytes).
import { SmrError } from './errors.js';

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses a duration like `90s`, `10m`, `2h`, `250ms` or `0` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(String(text));
  if (!m) {
    throw new SmrError(
      'usage',
      `bad duration "${text}"`,
      'use a number with s, m or h, like 90s, 10m, 2h, or 0',
    );
  }
  const n = Number(m[1]);
  if (n !== 0 && !m[2]) {
    throw new SmrError('usage', `bad duration "${text}": missing unit`, 'use 90s, 10m, 2h or 0');
  }
  return Math.round(n * (DURATION_UNITS[m[2] ?? 's'] ?? 1000));
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Parses a size like `10MiB`, `500KiB`, `1GiB` or plain bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(text));
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) {
    throw new SmrError('usage', `bad size "${text}"`, 'use bytes or KiB, MiB, GiB, like 512KiB');
  }
  return Math.round(Number(m[1]) * unit);
}

/** Parses a rate like `10MiB/s` into bytes per second. */
export function parseRate(text: string): number {
  const m = /^(.*?)(?:\/s)?$/i.exec(String(text).trim());
  const n = parseSize(m?.[1] ?? '');
  if (n <= 0)
    throw new SmrError('usage', `bad rate "${text}"`, 'use a positive rate like 10MiB/s, or off');
  return n;
}

/** Formats bytes for humans: 1.5 MiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
