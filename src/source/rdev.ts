// A device's number (major, minor) on the source against the one a listing carries.
import type { Stats } from 'node:fs';
import { splitDev } from '../fsmeta/index.js';
import type { ListEntry } from '../protocol/listing.js';

/** `st`'s device number as text, `major:minor`. */
export function rdevText(st: Pick<Stats, 'rdev'>): string {
  const d = splitDev(BigInt(st.rdev));
  return `${d.major}:${d.minor}`;
}

/** Whether a device's number differs from the listed one (never for fifos and sockets). */
export function rdevDiffers(st: Pick<Stats, 'rdev'>, t: Pick<ListEntry, 'type' | 'rdev'>): boolean {
  if (t.type !== 'char' && t.type !== 'block') return false;
  return t.rdev?.join(':') !== rdevText(st);
}
