// glibc's malloc, set for a long-running daemon whose worker threads come and go (the listers of
// each reconciliation, the hash worker). A source with 100,000 files, at the peak of a no-change
// diff mirror after a checksum compare (/proc/PID/smaps, one run each): with glibc's defaults
// 12 thread arenas held 67.5 MiB (of 336 MiB), most of them of threads already ended; with two
// arenas, 19.6 MiB (of 275 MiB).
//
// - Arenas: a new thread gets an arena of its own, up to 8 per core, and an arena keeps what it
//   freed for whichever thread takes it next. Worker threads that ended left their arenas
//   resident, unused by the threads still running. Capped, the threads share them and reuse
//   what another one freed.
// - Trim: free() hands memory back only from the top of an arena; what was freed below a chunk
//   still in use stays resident until malloc needs it again (~50 MiB after a full mirror of
//   100,000 files). malloc_trim(0) hands back every whole free page.
//
// Both are only hints: elsewhere (musl, another platform) they do nothing and say false.
import { libcFunc, type CFunc } from './libc.js';

const M_ARENA_MAX = -8;

let mallopt: CFunc | null | undefined;
let mallocTrim: CFunc | null | undefined;

function bind(decl: string): CFunc | null {
  if (process.platform !== 'linux') return null;
  try {
    return libcFunc(decl);
  } catch {
    return null; // no such symbol: not glibc
  }
}

/**
 * Caps malloc's arenas at `n` (mallopt M_ARENA_MAX), so that threads share them: in effect for the
 * arenas made from now on (call it before worker threads start). False: not applied.
 */
export function capMallocArenas(n: number): boolean {
  mallopt ??= bind('int mallopt(int param, int value)');
  return mallopt !== null && Number(mallopt(M_ARENA_MAX, n)) === 1;
}

/** Hands every whole free page of malloc's arenas back to the kernel; false: none was, or no glibc. */
export function trimMalloc(): boolean {
  mallocTrim ??= bind('int malloc_trim(size_t pad)');
  return mallocTrim !== null && Number(mallocTrim(0)) === 1;
}
