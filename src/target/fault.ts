// What the target tells the source when it cannot apply: a full disk, a quota, a read-only or
// failing file system, named with what the operator should do. The source keeps the data queued
// and retries; its `status` shows this message (docs/ARCHITECTURE.md, "Faults").
import type { FaultHeader } from '../protocol/messages.js';
import { SmrError } from '../shared/errors.js';

/** The faults of the replica's disk an operator can act on: what happened, what to do. */
const DISK_FAULTS: Record<string, (base: string) => [string, string]> = {
  ENOSPC: (base) => [`no space left on ${base}`, 'free space there'],
  EDQUOT: (base) => [
    `disk quota exceeded on ${base}`,
    "raise the quota of the target's user or free space",
  ],
  EROFS: (base) => [`${base} is on a read-only file system`, 'remount it read-write'],
  EIO: (base) => [`I/O error on ${base}`, 'check the disk (dmesg, smartctl)'],
};

/** The system error code (ENOSPC, ...) of `err` or of an error it wraps. */
function errnoOf(err: unknown): string | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Errors that belong to one op, not to the disk: a name longer than the file system takes, a file
 * larger than it holds, an argument it refuses (a rename into its own subdirectory). Retrying
 * cannot help, and a stream that retried them would never move again: the op is skipped, with an
 * error in the log, as a path the confiner refuses is. Returns what to say, or null.
 */
export function unappliable(err: unknown): string | null {
  const errno = errnoOf(err);
  if (errno === 'ENAMETOOLONG') return 'the name is too long for the file system (ENAMETOOLONG)';
  if (errno === 'EILSEQ') return "the file system refused the name's bytes (EILSEQ)";
  if (errno === 'EFBIG') return 'the file is too large for the file system (EFBIG)';
  if (errno === 'EINVAL') return `the file system refused it as invalid (EINVAL: ${msgOf(err)})`;
  return null;
}

function msgOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The FAULT a failure while applying seq `seq` into `base` becomes. Disk faults say what to do;
 * anything else carries its own message (an smr code such as `protocol`, or the system's code).
 */
export function describeFault(err: unknown, base: string, seq: number): FaultHeader {
  const errno = errnoOf(err);
  const known = errno !== null && Object.hasOwn(DISK_FAULTS, errno) ? DISK_FAULTS[errno] : null;
  const retry = 'the source keeps the data queued and retries';
  if (known) {
    const [what, todo] = known(base);
    return { code: errno as string, seq, message: `${what} (seq ${seq}): ${todo}; ${retry}` };
  }
  const msg = msgOf(err);
  const code = errno ?? (err instanceof SmrError ? err.code : 'internal');
  return { code, seq, message: `applying seq ${seq} into ${base} failed: ${msg}; ${retry}` };
}
