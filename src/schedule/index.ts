// Scheduled jobs of the source daemon: the persisted list (store.ts) and the timers (scheduler.ts).
export { validateCron } from './cron-expr.js';
export {
  MAX_RUN_OUTPUT_CHARS,
  SCHEDULE_FILE,
  ScheduleStore,
  validateJobName,
  type JobRun,
  type NewScheduleJob,
  type ScheduleJob,
} from './store.js';
export {
  Scheduler,
  type RunJob,
  type RunNowResult,
  type SchedulerEvent,
  type SchedulerOptions,
} from './scheduler.js';
