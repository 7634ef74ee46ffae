// verify's and orphans' progress on a terminal: the daemon answers in one request, so the CLI
// polls `status` meanwhile and draws what the daemon has compared against the listing's totals.
import { auditCounter, auditLine } from './render-audit.js';
import { withStatusProgress } from './status-progress.js';
import type { Ctx } from './verb.js';

/** Runs `call` (a verify or orphans request) with a progress line on a terminal, nothing on a pipe. */
export function withAuditProgress<T>(ctx: Ctx, name: string, call: () => Promise<T>): Promise<T> {
  return withStatusProgress(
    ctx,
    name,
    `${name}: starting…`,
    (s, meter) => {
      const a = s.audit;
      if (!a) return undefined;
      const { done, total } = auditCounter(a);
      if (a.state === 'comparing') meter.add(Date.now(), done);
      return `${name}: ${auditLine(a, meter.rate(), meter.eta(total))}`;
    },
    call,
  );
}
