// `smr restore NAME [--to DIR] [--mode full|diff|checksum] [--only GLOB]... [--force] [--dry-run]
// [--wait]`: the replica copied back to the source path (or to --to DIR).
import path from 'node:path';
import { source } from '../daemon-call.js';
import { EXIT } from '../exit-codes.js';
import { dryRunResult } from '../render-dry-run.js';
import { restoreLine, statusLines, type StatusView } from '../render-status.js';
import { byName, type Verb } from '../verb.js';
import type { MirrorMode } from '../../control/replies.js';

export const restoreVerb: Verb = {
  connectionOf: byName,
  command: 'restore <name>',
  describe: "Copy the target's replica back to the source path (or to --to DIR)",
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('to', {
        type: 'string',
        describe: 'restore into this directory on the source host instead of the connection path',
      })
      .option('mode', { choices: ['full', 'diff', 'checksum'] as const, default: 'diff' })
      .option('only', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'restore only paths matching this glob (repeatable; --include syntax)',
      })
      .option('from-snapshot', {
        type: 'string',
        describe: 'read this snapshot of the replica (made by the snapshot tasks) instead',
      })
      .option('force', {
        type: 'boolean',
        describe: 'overwrite source files newer than the replica (else refused, and listed)',
      })
      .option('dry-run', {
        type: 'boolean',
        describe: 'change nothing; list what would be restored',
      })
      .option('wait', {
        type: 'boolean',
        describe: 'wait until the restore and its confirming mirror end',
      }),
  async run(
    a: {
      name: string;
      to?: string;
      mode: MirrorMode;
      only: string[];
      fromSnapshot?: string;
      force?: boolean;
      dryRun?: boolean;
      wait?: boolean;
    },
    ctx,
  ) {
    const p = {
      name: a.name,
      ...(a.to !== undefined ? { to: path.resolve(a.to) } : {}),
      mode: a.mode,
      only: a.only,
      force: a.force,
      ...(a.fromSnapshot !== undefined ? { from: a.fromSnapshot } : {}),
    };
    if (a.dryRun) return dryRunResult(await source(ctx, 'dry-run', { ...p, operation: 'restore' }));
    const s = (await source(ctx, 'restore', { ...p, wait: a.wait })) as StatusView;
    const r = s.restore;
    const failed = a.wait && r?.state !== 'complete';
    const head = r ? `${a.name}: restore ${restoreLine(r)}` : `${a.name}: nothing to restore`;
    return {
      data: s,
      text: a.wait ? [head] : [head, ...statusLines(s)],
      exitCode: failed ? EXIT.failed : EXIT.ok,
    };
  },
};
