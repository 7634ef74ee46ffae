// Parsing and formatting of the contract's durations (90s, 10m, 2h, 0) and sizes/rates (KiB, MiB,
// GiB, bytes). Parsers throw SmrError('usage') with a hint, so a bad value stops a verb before it acts.
import { SmrError } from './errors.js';

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** The longest duration smr accepts: Node's timers cannot wait longer (about 24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const DURATION_HINT = 'use a number with ms, s, m, h or d, like 90s, 10m, 2h, or 0';

/** Parses a duration like `90s`, `10m`, `2h`, `1d`, `250ms` or `0` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(String(text));
  if (!m) throw new SmrError('usage', `bad duration "${text}"`, DURATION_HINT);
  const n = Number(m[1]);
  if (n !== 0 && !m[2]) {
    throw new SmrError('usage', `bad duration "${text}": missing unit`, 'use 90s, 10m, 2h or 0');
  }
  const ms = Math.round(n * (DURATION_UNITS[m[2] ?? 's'] ?? 1000));
  if (ms > MAX_DURATION_MS)
    throw new SmrError(
      'usage',
      `duration "${text}" is too long`,
      'the longest is 24d; where a limit is optional, 0 means none',
    );
  return ms;
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
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** Parses a size like `10MiB`, `500KiB`, `1GiB` or plain bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(text));
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) {
    throw new SmrError('usage', `bad size "${text}"`, 'use bytes or KiB, MiB, GiB, like 512KiB');
  }
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) throw new SmrError('usage', `size "${text}" is too large`);
  return n;
}

/** Parses a rate like `10MiB/s` into bytes per second. */
export function parseRate(text: string): number {
  const m = /^(.*?)(?:\/s)?$/i.exec(String(text).trim());
  let n: number;
  try {
    n = parseSize(m?.[1] ?? '');
  } catch {
    n = 0;
  }
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

/** Formats a rate for humans: 1.5 MiB/s. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Formats a duration for humans the way smr parses them: 850ms, 42s, 3m05s, 2h10m, 1d4h. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}
