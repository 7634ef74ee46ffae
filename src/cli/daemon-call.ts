// Verbs reach the source daemon of the state dir through the control channel's method table.
import { callSource } from '../control/client.js';
import type { ParamsOf, ReplyOf, SourceMethod } from '../control/methods.js';
import type { Ctx } from './verb.js';

/** Calls the source daemon; errors come back as SmrErrors with the daemon's code. */
export function source<K extends SourceMethod>(
  ctx: Ctx,
  method: K,
  params: ParamsOf<K>,
): Promise<ReplyOf<K>> {
  return callSource(ctx.stateDir, method, params);
}
