// `smr verify NAME [--mode diff|checksum] [--fix] [--report FILE]` and `smr orphans NAME [--delete]`.
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { SmrError } from '../../shared/errors.js';
import { displayPath, nameBytes } from '../../fsmeta/index.js';
import { formatBytes } from '../../shared/units.js';
import { source } from '../daemon-call.js';
import { withAuditProgress } from '../audit-progress.js';
import { EXIT } from '../exit-codes.js';
import type { OrphansResult, VerifyResult } from '../../source/audit.js';
import type { Difference } from '../../source/compare.js';
import { byName, type Verb } from '../verb.js';
import { dryRunResult } from '../render-dry-run.js';

function diffLine(d: Difference): string {
  // A name's bytes that are not UTF-8 (or a newline) are shown escaped, one path per line.
  const p = displayPath(nameBytes(d.path));
  switch (d.kind) {
    case 'missing':
      return `missing on target  ${p}`;
    case 'orphan':
      return `orphan on target   ${p}`;
    case 'name':
      return `name not carried   ${p}  (the target could not create this name; see its log)`;
    case 'hardlinks':
      return `hard links differ  ${p}  (linked otherwise than on the source)`;
    case 'content':
      return `content differs    ${p}  (${formatBytes(d.bytesOutOfSync ?? 0)} out of sync)`;
    default:
      return `${(d.kind + ' differs').padEnd(18)} ${p}  (source ${String(d.source)}, target ${String(d.target)})`;
  }
}

/** "MODE; compared N entries, F files, B; skipped M (why)". */
function comparedLine(r: VerifyResult): string {
  const s = r.skipped ?? { count: 0, reasons: {} };
  const why = Object.entries(s.reasons)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const skipped = `skipped ${s.count}${why ? ` (${why})` : ''}`;
  const entries = r.entries === undefined ? '' : `compared ${r.entries} entries, `;
  return `${r.mode}; ${entries}${r.files} files, ${formatBytes(r.bytes)}; ${skipped}`;
}

/**
 * The human report of a verify run, in the order things happened: what differed first, then what
 * --fix did and what still differs after it.
 */
export function verifyReport(r: VerifyResult): string[] {
  const found = r.before ?? r.differences;
  const compared = `(${comparedLine(r)})`;
  const head = `${r.name}: ${found.length === 0 ? 'source and target match' : `${found.length} difference(s)`} ${compared}`;
  if (r.fixed === undefined) return [head, ...found.map(diffLine)];
  const after = r.equal
    ? [`fixed ${r.fixed} path(s): source and target now match`]
    : [
        `fixed ${r.fixed} path(s); ${r.differences.length} difference(s) remain:`,
        ...r.differences.map(diffLine),
      ];
  return [head, ...found.map(diffLine), ...after];
}

/** The header of an orphans run: how many were found, and what deleting them did. */
function orphansHead(name: string, r: OrphansResult, deleting: boolean): string {
  const n = r.orphans.length;
  if (n === 0) return `${name}: no orphans on the target`;
  if (!deleting) return `${name}: ${n} orphan(s) on the target:`;
  // A deleted directory takes the orphans below it along: one delete, several paths.
  const dirs = r.orphans.filter((o) => o.type === 'd').map((o) => o.path + '/');
  const top = r.orphans.filter((o) => !dirs.some((d) => o.path.startsWith(d))).length;
  if (r.deleted === top) return `${name}: deleted the ${n} orphan(s) below from the target:`;
  return `${name}: deleted ${r.deleted} of ${top} orphan path(s) (the others reappeared on the source or changed meanwhile); found:`;
}

export const verifyVerb: Verb = {
  connectionOf: byName,
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
      .option('dry-run', {
        type: 'boolean',
        describe: 'with --fix: change nothing, list each path --fix would resend',
      })
      .option('report', {
        type: 'string',
        describe: 'also write the report to this file (JSON with --json)',
      }),
  async run(
    a: {
      name: string;
      mode: VerifyResult['mode'];
      fix?: boolean;
      dryRun?: boolean;
      report?: string;
    },
    ctx,
  ) {
    // Without --fix, verify changes nothing anyway: --dry-run is the plain comparison.
    if (a.dryRun && a.fix)
      return dryRunResult(
        await source(ctx, 'dry-run', { name: a.name, operation: 'verify-fix', mode: a.mode }),
      );
    const r = await withAuditProgress(ctx, a.name, () =>
      source(ctx, 'verify', { name: a.name, mode: a.mode, fix: a.fix }),
    );
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
  connectionOf: byName,
  command: 'orphans <name>',
  describe: 'List (or delete) target files that are not in the source set',
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('delete', { type: 'boolean', describe: 'delete them on the target' })
      .option('force', { type: 'boolean', describe: 'delete even past the safety brake' })
      .option('dry-run', {
        type: 'boolean',
        describe: 'change nothing; list each orphan --delete would delete or keep',
      })
      .option('max-delete-percent', {
        type: 'number',
        default: 50,
        describe: 'safety brake: refuse to delete more than this share of the target',
      }),
  async run(
    a: {
      name: string;
      delete?: boolean;
      force?: boolean;
      dryRun?: boolean;
      maxDeletePercent: number;
    },
    ctx,
  ) {
    if (!(a.maxDeletePercent >= 0 && a.maxDeletePercent <= 100))
      throw new SmrError('usage', '--max-delete-percent must be between 0 and 100');
    if (a.dryRun) {
      const { name, force, maxDeletePercent } = a;
      const del = a.delete;
      return dryRunResult(
        await source(ctx, 'dry-run', {
          name,
          operation: 'orphans',
          delete: del,
          force,
          maxDeletePercent,
        }),
      );
    }
    const r = await withAuditProgress(ctx, a.name, () =>
      source(ctx, 'orphans', {
        name: a.name,
        delete: a.delete,
        force: a.force,
        maxDeletePercent: a.maxDeletePercent,
      }),
    );
    const lines = r.orphans.map(
      (o) => `${o.type === 'd' ? 'dir ' : 'file'}  ${displayPath(nameBytes(o.path))}`,
    );
    return { data: r, text: [orphansHead(a.name, r, Boolean(a.delete)), ...lines] };
  },
};
