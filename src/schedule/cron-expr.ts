// The one module that talks to node-cron: checking cron expressions and scheduling them.
import cron, { type ScheduledTask } from 'node-cron';
import { SmrError } from '../shared/errors.js';

const CRON_HINT =
  'use 5 fields "minute hour day-of-month month day-of-week" (like "0 2 * * *" for 02:00 daily), ' +
  'or 6 with seconds first (like "*/30 * * * * *")';

/** Throws SmrError('usage') naming the bad field unless `expr` is a cron expression node-cron runs. */
export function validateCron(expr: string): void {
  const detail = cron.validateDetailed(expr);
  if (detail.valid && cron.validate(expr)) return;
  const first = detail.errors[0];
  const why = first ? ` (${first.message})` : '';
  throw new SmrError('usage', `bad cron expression "${expr}"${why}`, CRON_HINT);
}

/** A scheduled cron job (destroy() ends it). */
export type CronTask = ScheduledTask;
/** node-cron's scheduling options (name, timezone, logger). */
export type CronOptions = NonNullable<Parameters<typeof cron.schedule>[2]>;

/** Calls `onTick` on every tick of `expr`; throws when node-cron cannot schedule it. */
export function scheduleCron(expr: string, onTick: () => void, opts: CronOptions): CronTask {
  return cron.schedule(expr, onTick, opts);
}
