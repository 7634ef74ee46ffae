// The shape every verb file has: arguments in, one core call, a result to render.
import type { Argv } from 'yargs';
import type { SmrConfig } from '../config/config.js';

/** Options every verb accepts. */
export interface Ctx {
  stateDir: string;
  config: SmrConfig;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  /** True when stdout is a terminal and output may be pretty. */
  tty: boolean;
}

/** What a verb returns: data for --json, lines for humans, and an exit code when not 0. */
export interface VerbResult {
  data: unknown;
  text?: string | string[];
  exitCode?: number;
  /** The text is the result itself (a key, a task id): printed even with --quiet. */
  essential?: boolean;
}

/** A verb module. `args` are yargs' parsed arguments. */
export interface Verb {
  command: string | readonly string[];
  describe: string;
  builder?: (y: Argv) => Argv;
  /** The existing connection the parsed arguments name, if any (checked when a job is scheduled). */
  connectionOf?: (args: Record<string, unknown>) => unknown;
  /** False for verbs a scheduled job may not run (daemons, interactive ones). */
  schedulable?: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  run(args: any, ctx: Ctx): Promise<VerbResult | null>;
}

/** connectionOf for verbs whose `name` positional is a connection. */
export const byName = (args: Record<string, unknown>): unknown => args.name;
