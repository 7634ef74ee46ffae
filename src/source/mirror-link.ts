// How a mirror's requests meet a link that drops: waited out a few times, or the work done again.
import { SmrError } from '../shared/errors.js';
import type { Link } from './link.js';

/** Runs a request over `link`, waiting out a dropped link a few times. */
export async function withLink<T>(link: Link, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      await link.whenConnected(60_000);
      return await fn();
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
}

/** The link dropped: the work is to be done again once it is back, not given up. */
export function unreachable(err: unknown): boolean {
  return err instanceof SmrError && err.code === 'unreachable';
}
