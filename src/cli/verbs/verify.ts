// `smr verify NAME [--mode diff|checksum] [--fix] [--report FILE]` and `smr orphans NAME [--delete]`.
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { SmrError } from '../../shared/errors.js';
import { formatBytes } from '../../shared/units.js';
import { source } from '../daemon-call.js';
import { progress } from '../output.js';
import { EXIT } from '../exit-codes.js';
import type { VerifyResult } from '../../source/audit.js';
import type { Difference } from '../../source/compare.js';
import type { Verb } from '../verb.js';

function diffLine(d: Difference): string {
  switch (d.kind) {
    case 'missing':
      return `missing on target  ${d.path}`;
    case 'orphan':
      return `orphan on target   ${d.path}`;
    case 'content':
      return `content differs    ${d.path}  (${formatBytes(d.bytesOutOfSync ?? 0)} out of sync)`;
    default:
      return `${(d.kind + ' differs').padEnd(18)} ${d.path}  (source ${String(d.source)}, target ${String(d.target)})`;
  }
}

/** The human report of a verify run. */
export function verifyReport(r: VerifyResult): string[] {
  const head = `${r.name}: ${r.equal ? 'source and target match' : `${r.differences.length} difference(s)`} (${r.mode}; ${r.files} files, ${formatBytes(r.bytes)} compared)`;
  const fixed =
    r.fixed !== undefined
      ? [`fixed ${r.fixed} path(s); ${r.equal ? 'now equal' : 'still differing:'}`]
      : [];
  return [
    head,
    ...(r.fixed !== undefined ? (r.before ?? []).map(diffLine) : []),
    ...fixed,
    ...r.differences.map(diffLine),
  ];
}

export const verifyVerb: Verb = {
  command: 'verify <name>',
  describe: 'Compare source and target; exit 4 when they differ',
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('mode', {
        choices: ['diff', 'checksum'] as const,
        default: 'diff',
        describe: 'diff: type, size, mtime, mode; checksum: also every block',
      })
      .option('fix', {
        type: 'boolean',
        describe: 'resend what differs (orphans are left to `smr orphans --delete`)',
      })
      .option('report', {
        type: 'string',
        describe: 'also write the report to this file (JSON with --json)',
      }),
  async run(a: { name: string; mode: VerifyResult['mode']; fix?: boolean; report?: string }, ctx) {
    const p = progress(ctx, `verifying ${a.name} (${a.mode})`);
    let r: VerifyResult;
    try {
      r = await source(ctx, 'verify', { name: a.name, mode: a.mode, fix: a.fix });
    } finally {
      p.stop();
    }
    const text = verifyReport(r);
    if (a.report) {
      await fsp.writeFile(
        path.resolve(a.report),
        ctx.json ? JSON.stringify(r, null, 2) + '\n' : text.join('\n') + '\n',
      );
    }
    return { data: r, text, exitCode: r.equal ? EXIT.ok : EXIT.differences };
  },
};

export const orphansVerb: Verb = {
  command: 'orphans <name>',
  describe: 'List (or delete) target files that are not in the source set',
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('delete', { type: 'boolean', describe: 'delete them on the target' })
      .option('force', { type: 'boolean', describe: 'delete even past the safety brake' })
      .option('max-delete-percent', {
        type: 'number',
        default: 50,
        describe: 'safety brake: refuse to delete more than this share of the target',
      }),
  async run(a: { name: string; delete?: boolean; force?: boolean; maxDeletePercent: number }, ctx) {
    if (!(a.maxDeletePercent >= 0 && a.maxDeletePercent <= 100))
      throw new SmrError('usage', '--max-delete-percent must be between 0 and 100');
    const r = await source(ctx, 'orphans', {
      name: a.name,
      delete: a.delete,
      force: a.force,
      maxDeletePercent: a.maxDeletePercent,
    });
    const lines = r.orphans.map((o) => `${o.type === 'd' ? 'dir ' : 'file'}  ${o.path}`);
    const head =
      r.orphans.length === 0
        ? `${a.name}: no orphans on the target`
        : a.delete
          ? `${a.name}: deleted ${r.deleted} orphan(s) on the target:`
          : `${a.name}: ${r.orphans.length} orphan(s) on the target:`;
    return { data: r, text: [head, ...lines] };
  },
};
