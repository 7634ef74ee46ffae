// Verbs reach the source daemon of the state dir through the control channel.
import { callDaemon } from '../control/client.js';
import type { Ctx } from './verb.js';

/** Calls the source daemon; errors come back as SmrErrors with the daemon's code. */
export function source(
  ctx: Ctx,
  method: string,
  params: Record<string, unknown> = {},
): Promise<unknown> {
  return callDaemon(ctx.stateDir, method, params);
}
