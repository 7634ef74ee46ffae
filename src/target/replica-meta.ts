// A `meta` reply: every attribute a restore writes, read from the replica with fsmeta (the
// attributes the replica has, whatever replication carried into it), as much as one frame holds.
import { readMetaSync } from '../fsmeta/index.js';
import {
  META_REPLY_BYTES,
  wireMeta,
  type ReplicaMeta,
  type WireMeta,
} from '../protocol/restore-requests.js';
import type { Confiner } from './confine.js';

/** The attributes of one entry, or null when it is gone. */
async function metaOf(cf: Confiner, rel: string): Promise<WireMeta | null> {
  let abs: string;
  try {
    abs = await cf.resolve(rel);
  } catch {
    return null; // refused by confinement: as good as absent, and said so by the listing
  }
  try {
    // Every listed type (fifos, sockets and devices too: a restore makes them with these).
    const entry: ReplicaMeta = readMetaSync(abs);
    return wireMeta(entry);
  } catch {
    return null; // vanished since it was listed
  }
}

/** The reply body for `paths`: entries in order, stopping before the frame would overflow. */
export async function metaBody(cf: Confiner, paths: readonly string[]): Promise<Buffer> {
  const parts: string[] = [];
  let bytes = 16;
  for (const rel of paths) {
    const json = JSON.stringify(await metaOf(cf, rel));
    // At least one entry goes, so the source always makes progress (one entry is far below a frame).
    if (parts.length > 0 && bytes + json.length + 1 > META_REPLY_BYTES) break;
    parts.push(json);
    bytes += Buffer.byteLength(json) + 1;
  }
  return Buffer.from(`{"metas":[${parts.join(',')}]}`);
}
