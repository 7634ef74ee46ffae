// The mirror's scan: scan.ts's scanTree in path order, each directory's contents right after it.
// A mirror consumes the target's listing, kept in this order, beside it (index/listing-merge.ts)
// instead of looking each path up. Its directories are listed (readdir, the sort, an fstatat per
// name) on a DirLister's worker threads a few directories ahead, as a restart's walk is
// (walk-chunks.ts): the main thread, a no-change checksum mirror's critical path, spent ~1.7 s
// per 100k files listing and lstat'ing names itself. It now reads the numbers the worker packed,
// and an entry's stat is a view of them (ListedStat), not a Stats with its Dates.
import { fstatatPlan } from '../fsmeta/index.js';
import { nextTurn, YIELD_EVERY } from '../shared/yield.js';
import { DirLister } from './dir-lister.js';
import { specialType, type ScanStat } from './entry-type.js';
import type { PathFilter } from './filter.js';
import type { ScanEntry, ScanSkip } from './scan.js';
import { unsupported } from './skipped.js';
import { FULL_FIELDS, PackedFields } from './stat-pool.js';
import { WalkCursor } from './walk-chunks.js';

const S_IFMT = 0o170000;

/**
 * An entry's lstat as a lister's worker packed it (FULL_FIELDS numbers at `o` of `out`), read in
 * place: each number is the one Node's Stats of it holds (stat-pool.ts).
 */
export class ListedStat extends PackedFields implements ScanStat {
  get nlink(): number {
    return this.out[this.o + 7] as number;
  }
  get uid(): number {
    return this.out[this.o + 8] as number;
  }
  get gid(): number {
    return this.out[this.o + 9] as number;
  }
  get rdev(): number {
    return this.out[this.o + 10] as number;
  }
  isFIFO(): boolean {
    return (this.mode & S_IFMT) === 0o010000;
  }
  isSocket(): boolean {
    return (this.mode & S_IFMT) === 0o140000;
  }
  isCharacterDevice(): boolean {
    return (this.mode & S_IFMT) === 0o020000;
  }
  isBlockDevice(): boolean {
    return (this.mode & S_IFMT) === 0o060000;
  }
}

/**
 * Every entry below `base` (filtered, links not followed) in path order, as scanTree yields them:
 * fifos, sockets and devices only with `specials` (else `onSkip` hears of them), a directory that
 * cannot be listed said to `onSkip` (not one gone meanwhile: the watcher reports that), a name
 * that cannot be lstat'ed passed over. `lister`: FULL_FIELDS numbers per name.
 */
export async function* scanInPathOrder(
  base: string,
  filter: PathFilter,
  onSkip?: (s: ScanSkip) => void,
  specials = false,
  lister = new DirLister(undefined, fstatatPlan(), undefined, FULL_FIELDS),
): AsyncGenerator<ScanEntry<ScanStat>> {
  const w = new WalkCursor(filter, lister, undefined, true);
  try {
    await w.start(base);
    let n = 0;
    for (;;) {
      const step = w.advance();
      if (step === 0) {
        await w.ready();
        continue;
      }
      if (step < 0) return;
      const code = w.unreadable;
      if (code !== null) {
        if (w.lone && code !== 'ENOENT' && code !== 'ENOTDIR')
          onSkip?.({ rel: w.rel || '.', reason: 'unreadable', why: `cannot list it (${code})` });
        continue;
      }
      if (++n % YIELD_EVERY === 0) await nextTurn(); // a huge directory must not stall the daemon
      const st = new ListedStat(w.st.out, w.st.o);
      if (st.isDirectory() || st.isFile() || st.isSymbolicLink() || (specials && specialType(st)))
        yield { rel: w.rel, st };
      else if (onSkip) {
        const [reason, what] = unsupported(st);
        const why = `${what} is not read by this walk (only the mirror sends special entries)`;
        onSkip({ rel: w.rel, reason, why });
      }
    }
  } finally {
    w.close();
  }
}
