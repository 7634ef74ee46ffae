// Rendering: exactly one JSON object with --json, plain lines otherwise, ora spinners only on a TTY.
// ora is imported only when a spinner is drawn: loading it cost every call ~60 ms, scripts included.
import type { Ora } from 'ora';
import type { Ctx, VerbResult } from './verb.js';

/** Prints a verb's result. */
export function render(ctx: Ctx, r: VerbResult): void {
  if (ctx.json) {
    process.stdout.write(JSON.stringify(r.data) + '\n');
    return;
  }
  if ((ctx.quiet && !r.essential) || r.text === undefined) return;
  const lines = Array.isArray(r.text) ? r.text : [r.text];
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
}

/** Prints an error: one line on stderr, or the contract's JSON error object on stdout. */
export function renderError(ctx: Pick<Ctx, 'json'>, code: string, message: string): void {
  if (ctx.json) process.stdout.write(JSON.stringify({ error: { code, message } }) + '\n');
  else process.stderr.write(`smr: ${message}\n`);
}

/** A progress line for long waits; a no-op unless stdout is a TTY and output is for humans. */
export function progress(
  ctx: Ctx,
  text: string,
): { drawing: boolean; update(t: string): void; stop(): void } {
  // A terminal that reports no width (0 columns) makes ora erase an unbounded number of lines.
  if (!ctx.tty || ctx.json || ctx.quiet || !process.stdout.columns)
    return { drawing: false, update: () => undefined, stop: () => undefined };
  let spinner: Ora | undefined;
  let shown = text;
  let stopped = false;
  void import('ora').then(
    ({ default: ora }) => {
      // The wait may be over (or the text changed) before the module is loaded.
      if (!stopped) spinner = ora({ text: shown, stream: process.stdout }).start();
    },
    () => undefined, // no spinner is no worse than a pipe
  );
  return {
    drawing: true,
    update: (t) => {
      shown = t;
      if (spinner) spinner.text = t;
    },
    stop: () => {
      stopped = true;
      spinner?.stop();
    },
  };
}
