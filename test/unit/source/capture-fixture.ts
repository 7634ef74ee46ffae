// A capture pipeline for unit tests: a real index in a temp directory, no watcher, and an append
// given by the test (a real journal, or a list that numbers what it is given).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PathIndex } from '../../../src/index/index.js';
import type { JournalEntry, JournalRecord } from '../../../src/journal/types.js';
import { Capture } from '../../../src/source/capture.js';
import { makeFilter } from '../../../src/source/filter.js';
import type { Append } from '../../../src/source/ledger.js';

/** A failed check fails the test unless `failed` is given. */
export function testCapture(
  base: string,
  append: Append,
  o: { failed?: (err: Error) => void; lastSeq?: number; index?: PathIndex } = {},
): Capture {
  const index =
    o.index ?? PathIndex.open(path.join(mkdtempSync(path.join(os.tmpdir(), 'smr-idx-')), 'i'));
  const failed =
    o.failed ??
    ((err: Error) => {
      throw err;
    });
  return new Capture(base, makeFilter([], []), index, append, o.lastSeq ?? 0, {
    watchDir: () => undefined,
    failed,
  });
}

/** An append that numbers entries from 1 and keeps them in `queued`. */
export function listAppend(queued: JournalEntry[]): Append {
  return async (e) => {
    queued.push(e);
    return { ...e, seq: queued.length, size: 0 } as unknown as JournalRecord;
  };
}
