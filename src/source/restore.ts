// `smr restore`: the replica copied back to the source path (or to `--to DIR`) as a job with
// progress, like a mirror. Into the live path, capture is held while it writes (restored files
// must not be captured and sent back); afterwards a diff mirror confirms both sides agree.
import path from 'node:path';
import type { DryRunResult, RestoreProgress } from '../control/replies.js';
import type { ListEntry } from '../protocol/listing.js';
import { asSmrError, SmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { PathFilter } from './filter.js';
import { dryRunResult, itemize } from './itemize.js';
import type { Link } from './link.js';
import type { Ask } from './restore-fetch.js';
import type { Capture } from './capture.js';
import {
  planRestore,
  type AttrCompare,
  type RestoreOptions,
  type RestorePlan,
} from './restore-plan.js';
import { writeRestore } from './restore-write.js';

export type { RestoreOptions };

/** What a restore needs of its connection. */
export interface RestoreHost {
  name: string;
  /** The connection's path (a restore there is "live"). */
  base: string;
  filter: PathFilter;
  link: Link;
  /** Stops a running mirror (a restore supersedes it). */
  stopMirror: () => void;
  /** holdHints holds capture, the returned function lets it go (false: dropping what it held);
   * ledger.attrs tells which attributes the connection carries (restore sets those). */
  capture: Pick<Capture, 'holdHints'> & { ledger: { attrs: AttrCompare } };
  /** After a live restore: capture watches again and a diff mirror confirms; resolves when done. */
  confirm: () => Promise<void>;
}

/**
 * The options of a restore of the connection at `base`: `to` may be anywhere on the source host
 * but inside the connection's path (what it wrote there would be replicated back).
 */
export function restoreOptions(
  base: string,
  p: { to?: string; mode: RestoreOptions['mode']; only: string[]; force?: boolean; from?: string },
): RestoreOptions {
  const dest = path.resolve(p.to ?? base);
  const rel = path.relative(path.resolve(base), dest);
  if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel))
    throw new SmrError(
      'usage',
      `--to ${dest} is inside the connection's path ${base}: what it restores would be replicated`,
      'restore --to a directory outside it, or without --to into the path itself',
    );
  return { mode: p.mode, dest, only: p.only, force: p.force === true, from: p.from };
}

const IDLE: RestoreProgress = {
  state: 'idle',
  mode: null,
  to: null,
  from: null,
  filesDone: 0,
  filesTotal: 0,
  bytesDone: 0,
  bytesTotal: 0,
  percent: 0,
  failed: 0,
  skipped: 0,
};

/** One connection's restores, one at a time. */
export class Restorer {
  progress: RestoreProgress = { ...IDLE };
  private running: Promise<void> | null = null;

  constructor(private readonly host: RestoreHost) {}

  private ask: Ask = (req, body) => this.host.link.request(req, body);

  private async plan(o: RestoreOptions): Promise<RestorePlan> {
    const list = new Map<string, ListEntry>();
    await this.host.link.listTarget((items) => {
      for (const it of items) list.set(it.path, it);
    }, o.from);
    return planRestore(this.ask, list, this.host.filter, o, this.host.capture.ledger.attrs);
  }

  private refusal(o: RestoreOptions, p: RestorePlan): string | null {
    if (o.force || p.newer.length === 0) return null;
    const some = p.newer.slice(0, 10).join(', ');
    const more = p.newer.length > 10 ? ` and ${p.newer.length - 10} more` : '';
    return `${p.newer.length} file(s) in ${o.dest} are newer than the replica's: ${some}${more}`;
  }

  /** What the restore would do now; changes nothing. */
  async dryRun(o: RestoreOptions): Promise<DryRunResult> {
    this.refuseWhileRunning();
    const p = await this.plan(o);
    const facts = p.steps.map((s) => ({
      path: s.rel,
      type: s.t.type,
      action: s.action,
      attrs: s.attrs,
      bytes: s.bytes,
    }));
    const items = [...facts, ...p.kept].map((f) => itemize(f, '>'));
    const r = dryRunResult({ name: this.host.name, operation: 'restore', mode: o.mode }, items);
    const refused = this.refusal(o, p);
    return refused ? { ...r, refused: `refusing to restore: ${refused}` } : r;
  }

  /** Plans (refusing over newer files), then restores in the background; `wait`: to the end. */
  async start(o: RestoreOptions, wait: boolean): Promise<RestoreProgress> {
    this.refuseWhileRunning();
    const live = path.resolve(o.dest) === path.resolve(this.host.base);
    this.host.stopMirror();
    const p = await this.plan(o);
    const refused = this.refusal(o, p);
    if (refused)
      throw new SmrError(
        'usage',
        `refusing to restore ${this.host.name}: ${refused}`,
        'add --force to overwrite them (--dry-run lists every path), or restore --to another directory',
      );
    const files = p.steps.filter((s) => s.t.type === 'file');
    this.progress = {
      ...IDLE,
      state: 'restoring',
      mode: o.mode,
      to: o.dest,
      from: o.from ?? null,
      filesTotal: p.steps.length,
      bytesTotal: files.reduce((n, s) => n + s.bytes, 0),
    };
    const job = this.run(o, p, live);
    this.running = job.finally(() => (this.running = null));
    if (wait) await this.running;
    return this.progress;
  }

  private async run(o: RestoreOptions, p: RestorePlan, live: boolean): Promise<void> {
    const release = live ? this.host.capture.holdHints() : null;
    const pr = this.progress;
    try {
      await writeRestore(
        {
          ask: this.ask,
          dest: o.dest,
          from: o.from,
          whole: o.mode === 'full',
          done: (s, bytes) => {
            pr.filesDone++;
            pr.bytesDone += s.t.type === 'file' ? s.bytes : 0;
            pr.percent = pr.bytesTotal
              ? Math.floor((100 * pr.bytesDone) / pr.bytesTotal)
              : Math.floor((100 * pr.filesDone) / Math.max(1, pr.filesTotal));
            if (bytes) log.debug(`restore: ${s.rel}: ${bytes} literal bytes`);
          },
          failed: () => pr.failed++,
          skipped: () => (pr.skipped = (pr.skipped ?? 0) + 1),
        },
        p.steps,
      );
      release?.(false);
      if (live) {
        pr.state = 'confirming';
        await this.host.confirm();
      }
      pr.percent = 100;
      pr.state = pr.failed ? 'failed' : 'complete';
      if (pr.failed) pr.error = `${pr.failed} entr(ies) not restored (see the source's log)`;
    } catch (err) {
      release?.(); // what it wrote is captured as any change would be: nothing is lost
      pr.state = 'failed';
      pr.error = asSmrError(err).message;
      log.error(`${this.host.name}: restore: ${pr.error}`);
    }
  }

  private refuseWhileRunning(): void {
    if (this.running)
      throw new SmrError(
        'usage',
        `a restore of ${this.host.name} is running`,
        `see smr status ${this.host.name}`,
      );
  }
}
