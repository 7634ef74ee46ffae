// The text values smr parses (durations, sizes, rates, HOST:PORT) and the one message a bad one
// gets. schema.ts builds its zod types from these; cli/options.ts checks flags with them directly,
// so a CLI call does not load zod (~0.1 s of every `smr status`) just to check `--timeout 90s`.
import { parseDuration, parseRate, parseSize } from '../shared/units.js';
import { parseHostPortText } from './host-port.js';

/** Each text kind's parser; they throw SmrError with a hint on a bad value. */
export const TEXT_PARSERS = {
  duration: parseDuration,
  size: parseSize,
  rate: parseRate,
  hostPort: parseHostPortText,
} as const;

/** The kinds of text value a flag may be checked as. */
export type TextKind = keyof typeof TEXT_PARSERS;

/** What is wrong with `text` for `parse` (message; hint), or null when it parses. */
export function textProblem(parse: (t: string) => unknown, text: string): string | null {
  try {
    parse(text);
    return null;
  } catch (err) {
    const e = err as Error & { hint?: string };
    return e.hint ? `${e.message}; ${e.hint}` : e.message;
  }
}
