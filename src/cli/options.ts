// Flags whose values the config schema checks (durations, rates, addresses) — checked while yargs
// parses, so a bad value stops the verb before it acts: `mirror start web --wait --timeout 1y`
// exits 2 at once instead of after the whole mirror.
import type { Options } from 'yargs';
import { SmrError } from '../shared/errors.js';
import { parseDuration, parseRate, parseSize } from '../shared/units.js';
import { checkValue, type ValueKind } from '../config/schema.js';

/** Throws the usage error for `--name VALUE` unless the schema accepts it as `kind`. */
export function checkFlag(kind: ValueKind, name: string, value: unknown): void {
  const problem = checkValue(kind, value);
  if (problem) throw new SmrError('usage', `--${name}: ${problem}`);
}

function single(name: string, v: unknown): string {
  if (Array.isArray(v)) throw new SmrError('usage', `--${name} was given more than once`);
  return String(v);
}

/** A duration flag (90s, 10m, 2h, 0); the parsed value is milliseconds. */
export function durationFlag(name: string, describe: string, dflt?: string): Options {
  return {
    type: 'string',
    describe,
    ...(dflt === undefined ? {} : { default: dflt }),
    coerce: (v: unknown): number | undefined => {
      if (v === undefined) return undefined;
      const text = single(name, v);
      checkFlag('duration', name, text);
      return parseDuration(text);
    },
  };
}

/** A rate flag (10MiB/s) that also takes `off`; the parsed value is bytes/s, or null for off. */
export function rateFlag(name: string, describe: string): Options {
  return {
    type: 'string',
    describe,
    coerce: (v: unknown): number | null => {
      const text = single(name, v);
      if (text === 'off') return null;
      checkFlag('rate', name, text);
      return parseRate(text);
    },
  };
}

/** A size flag (64MiB, 1GiB, plain bytes); the parsed value is bytes. */
export function sizeFlag(name: string, describe: string): Options {
  return {
    type: 'string',
    describe,
    coerce: (v: unknown): number | undefined => {
      if (v === undefined) return undefined;
      const text = single(name, v);
      checkFlag('size', name, text);
      return parseSize(text);
    },
  };
}

/** A HOST:PORT flag, checked but kept as text. */
export function hostPortFlag(name: string, describe: string): Options {
  return {
    type: 'string',
    describe,
    coerce: (v: unknown): string | undefined => {
      if (v === undefined) return undefined;
      const text = single(name, v);
      checkFlag('hostPort', name, text);
      return text;
    },
  };
}
