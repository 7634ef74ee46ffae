// Human rendering of a dry run: a summary line, then one itemized line per path (rsync's -i).
import type { DryRunResult } from '../control/replies.js';
import { EXIT } from './exit-codes.js';
import { formatBytes } from '../shared/units.js';
import type { VerbResult } from './verb.js';

const OPERATION: Record<DryRunResult['operation'], string> = {
  mirror: 'mirror',
  restore: 'restore',
  orphans: 'orphans --delete',
  'verify-fix': 'verify --fix',
};

/** The summary line: what the real run would do, and that nothing was changed. */
export function dryRunHead(r: DryRunResult): string {
  const c = r.counts;
  const mode = r.mode ? ` (${r.mode})` : '';
  return (
    `${r.name}: dry run of ${OPERATION[r.operation]}${mode}, nothing changed: ` +
    `${c.create} to create, ${c.update} to update (${formatBytes(r.bytes)} at most), ` +
    `${c.delete} to delete, ${c.skip} skipped`
  );
}

/**
 * A dry run as a verb's result. A real run the dry run says would be refused (a safety brake,
 * newer files) exits as that run would: 2.
 */
export function dryRunResult(r: DryRunResult): VerbResult {
  const text = [dryRunHead(r), ...r.items.map((i) => i.line)];
  if (r.refused) text.push(`the real run would be refused: ${r.refused}`);
  return { data: r, text, exitCode: r.refused ? EXIT.usage : EXIT.ok };
}
