// `smr schedule add JOB --cron EXPR -- VERB [ARG...]`, `list`, `remove JOB`, `run JOB`.
import { SmrError } from '../../shared/errors.js';
import { source } from '../daemon-call.js';
import { validateCron, validateJobName, type ScheduleJob } from '../../schedule/index.js';
import type { Verb } from '../verb.js';
import { checkJobCommand } from '../job-check.js';

function jobLine(j: ScheduleJob): string {
  const last = j.lastRun ? `last ${j.lastRun.endedAt} exit ${j.lastRun.exitCode}` : 'never run';
  return `${j.name}  "${j.cron}"  smr ${j.argv.join(' ')}  (${last}${j.skipped ? `, ${j.skipped.count} skipped` : ''})`;
}

export const scheduleVerb: Verb = {
  schedulable: false,
  command: 'schedule <action> [job]',
  describe: 'Run verbs on a cron schedule inside the source daemon (add|list|remove|run)',
  builder: (y) =>
    y
      .positional('action', { choices: ['add', 'list', 'remove', 'run'] as const })
      .positional('job', { type: 'string', describe: 'job name' })
      .option('cron', {
        type: 'string',
        describe: 'cron expression (5 or 6 fields), e.g. "0 2 * * *"',
      }),
  async run(
    a: { action: string; job?: string; cron?: string; '--'?: Array<string | number> },
    ctx,
  ) {
    if (a.action === 'list') {
      const r = await source(ctx, 'schedule-list', {});
      return { data: r, text: r.jobs.length ? r.jobs.map(jobLine) : 'no scheduled jobs' };
    }
    if (!a.job) throw new SmrError('usage', `schedule ${a.action} needs a job name`);
    if (a.action === 'add') {
      const argv = (a['--'] ?? []).map(String);
      if (!a.cron)
        throw new SmrError('usage', 'schedule add needs --cron "EXPR"', 'e.g. --cron "0 2 * * *"');
      if (!argv.length)
        throw new SmrError(
          'usage',
          'schedule add needs a verb after --',
          'e.g. -- mirror start web --mode checksum',
        );
      validateJobName(a.job);
      validateCron(a.cron);
      await checkJobCommand(ctx, argv);
      const job = (await source(ctx, 'schedule-add', {
        job: a.job,
        cron: a.cron,
        argv,
      })) as ScheduleJob;
      return { data: job, text: `scheduled ${jobLine(job)}` };
    }
    if (a.action === 'remove') {
      const job = await source(ctx, 'schedule-remove', { job: a.job });
      return { data: job, text: `removed ${job.name}` };
    }
    const r = await source(ctx, 'schedule-run', { job: a.job });
    if (r.outcome === 'skipped')
      return { data: r, text: `${a.job} is still running; not started again`, exitCode: 1 };
    // The job's own exit code: a script running `smr schedule run` learns what the verb said.
    return {
      data: r,
      text: `${a.job} exited ${r.run.exitCode}${r.run.output ? `\n${r.run.output}` : ''}`,
      exitCode: r.run.exitCode,
    };
  },
};
