// Which directories a walk (walk-chunks.ts) asks its lister for next. With 32 asked ahead (a few
// milliseconds of a lister's work) the listers ran dry whenever the main thread was not
// scheduled: a 1M-file restart kept the 2 cores ~1.65 busy. With 256, ~1.75: in 7 interleaved
// pairs of restarts of one kept state, 0.21 s (~5%) less on average, none slower. Bytes bound
// them too: a directory counts its lstat's size (ext4, tmpfs, btrfs and XFS grow a directory with
// its names; a block at least), and a listing holds ~3-4 times that, so huge ones are not held
// 256 at a time.

/** Directories asked for ahead of the one being walked... */
export const AHEAD = 256;
/** ...and at most about this many bytes of them. */
export const AHEAD_DIR_BYTES = 1 << 20;

/** A subdirectory waiting to be walked: asked for once it has a listing promise. */
export interface Pending {
  listing?: unknown;
  st: { size: number };
}

/** A directory being walked: its subdirectories in order, `nextSub` the next to reach. */
export interface PendingLevel<S extends Pending> {
  subs: S[];
  nextSub: number;
}

const dirBytes = (sub: Pending): number => Math.max(sub.st.size, 4096);

/**
 * The subdirectories to ask for now, in the order the walk reaches them (the innermost level's
 * first): up to AHEAD (and AHEAD_DIR_BYTES) counted with those already asked, and only once
 * fewer than half that many are asked and not yet reached, so they go to a worker in batches.
 * Empty otherwise. (The walk asks for the next one itself when it gets there, whatever the bounds.)
 */
export function toAsk<S extends Pending>(stack: ReadonlyArray<PendingLevel<S>>): S[] {
  const todo: S[] = [];
  let asked = 0;
  let askedBytes = 0;
  let bytes = 0;
  const room = (): boolean => todo.length + asked < AHEAD && bytes < AHEAD_DIR_BYTES;
  for (let d = stack.length - 1; d >= 0 && room(); d--) {
    const level = stack[d] as PendingLevel<S>;
    for (let s = level.nextSub; s < level.subs.length && room(); s++) {
      const sub = level.subs[s] as S;
      const b = dirBytes(sub);
      bytes += b;
      if (sub.listing === undefined) todo.push(sub);
      else {
        asked++;
        askedBytes += b;
      }
    }
  }
  return asked < AHEAD / 2 && askedBytes < AHEAD_DIR_BYTES / 2 ? todo : [];
}
