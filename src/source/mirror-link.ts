// How a mirror's requests meet a link that drops: waited out a few times, or the work done again.
import { SmrError } from '../shared/errors.js';
import { blocksReply, sumsReply, type BlocksReply, type FileSum } from '../protocol/requests.js';
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

/** The target's block hashes of one file; waits out a dropped link a few times. */
export function remoteBlocks(link: Link, rel: string): Promise<BlocksReply> {
  return withLink(link, async () => blocksReply(await link.request({ op: 'blocks', p: rel })));
}

/** The target's size and sha256 of each of `paths`; waits out a dropped link a few times. */
export async function remoteSums(link: Link, paths: string[]): Promise<Array<FileSum | null>> {
  return sumsReply(await withLink(link, () => link.request({ op: 'sums', paths })), paths.length);
}

/** The link dropped: the work is to be done again once it is back, not given up. */
export function unreachable(err: unknown): boolean {
  return err instanceof SmrError && err.code === 'unreachable';
}
