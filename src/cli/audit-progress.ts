// verify's and orphans' progress on a terminal: the daemon answers in one request, so the CLI
// polls `status` meanwhile and draws what the daemon has compared against the listing's totals.
import { source } from './daemon-call.js';
import { progress } from './output.js';
import { RateMeter } from './rate-meter.js';
import { auditCounter, auditLine } from './render-audit.js';
import type { StatusView } from './render-status.js';
import type { Ctx } from './verb.js';

/** Runs `call` (a verify or orphans request) with a progress line on a terminal, nothing on a pipe. */
export async function withAuditProgress<T>(
  ctx: Ctx,
  name: string,
  call: () => Promise<T>,
): Promise<T> {
  const p = progress(ctx, `${name}: starting…`);
  const meter = new RateMeter();
  if (!p.drawing) return call(); // a pipe: no line to draw, no status to ask for
  const poll = setInterval(() => {
    void source(ctx, 'status', { name }).then(
      (x) => {
        const a = (x as StatusView).audit;
        if (!a) return;
        const { done, total } = auditCounter(a);
        if (a.state === 'comparing') meter.add(Date.now(), done);
        p.update(`${name}: ${auditLine(a, meter.rate(), meter.eta(total))}`);
      },
      () => undefined,
    );
  }, 250);
  try {
    return await call();
  } finally {
    clearInterval(poll);
    p.stop();
  }
}
