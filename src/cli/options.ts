// Flags whose values the config schema's parsers check (durations, rates, addresses) — checked
// while yargs parses, so a bad value stops the verb before it acts: `mirror start web --wait
// --timeout 1y` exits 2 at once instead of after the whole mirror. The parsers come from
// config/values.ts, not the zod schema: same parsers, same messages, without loading zod per call.
import type { Options } from 'yargs';
import { SmrError } from '../shared/errors.js';
import { TEXT_PARSERS, textProblem, type TextKind } from '../config/values.js';

/** Parses `--name TEXT` as `kind`; throws the usage error naming what is wrong. */
function parseFlag<K extends TextKind>(
  kind: K,
  name: string,
  text: string,
): ReturnType<(typeof TEXT_PARSERS)[K]> {
  const parse = TEXT_PARSERS[kind] as (t: string) => ReturnType<(typeof TEXT_PARSERS)[K]>;
  const problem = textProblem(parse, text);
  if (problem !== null) throw new SmrError('usage', `--${name}: ${problem}`);
  return parse(text);
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
      return parseFlag('duration', name, text);
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
      return parseFlag('rate', name, text);
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
      return parseFlag('size', name, text);
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
      parseFlag('hostPort', name, text);
      return text;
    },
  };
}
