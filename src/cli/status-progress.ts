// A progress line drawn from the daemon's `status` while one long request runs (a mirror's wait, a
// verify, an orphans listing). On a pipe nothing is drawn, so status is not even asked for.
import { source } from './daemon-call.js';
import { progress } from './output.js';
import { RateMeter } from './rate-meter.js';
import type { StatusView } from './render-status.js';
import type { Ctx } from './verb.js';

/** Turns one status answer into the line to show (undefined: keep the last one). */
export type DrawStatus = (s: StatusView, meter: RateMeter) => string | undefined;

/** Runs `call`, polling NAME's status every 250 ms to redraw a progress line on a terminal. */
export async function withStatusProgress<T>(
  ctx: Ctx,
  name: string,
  first: string,
  draw: DrawStatus,
  call: () => Promise<T>,
): Promise<T> {
  const p = progress(ctx, first);
  if (!p.drawing) return call();
  const meter = new RateMeter();
  const poll = setInterval(() => {
    void source(ctx, 'status', { name }).then(
      (x) => {
        const line = draw(x as StatusView, meter);
        if (line !== undefined) p.update(line);
      },
      () => undefined, // a status that fails now and then costs one frame, not the request
    );
  }, 250);
  try {
    return await call();
  } finally {
    clearInterval(poll);
    p.stop();
  }
}
