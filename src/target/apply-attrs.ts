// Applying the attributes an op carries (owner, xattrs, ACLs, mode, ns mtime) to one entry of the
// replica, in fsmeta's one order. What the system refuses is counted and logged, never thrown.
import { lstatSync } from 'node:fs';
import { applyMetaSync, entryTypeOf, type Xattr } from '../fsmeta/index.js';
import type { WireAttrs } from '../protocol/attrs.js';
import type { Confiner } from './confine.js';
import { fsPath } from '../fsmeta/index.js';

const b = (s: string): Buffer => Buffer.from(s, 'base64');

/**
 * Sets what `a` carries on `abs` (which stands for `rel`), and `mode` (after the target's
 * setuid/setgid rule) when given. Fields `a` lacks are left as they are.
 */
export function applyAttrsSync(
  cf: Confiner,
  abs: string,
  rel: string,
  a: WireAttrs,
  mode: number | undefined,
): void {
  const st = lstatSync(fsPath(abs), { bigint: true });
  const type = entryTypeOf(st.mode);
  const xattrs: Xattr[] = (a.x ?? []).map(([n, v]) => ({ name: b(n), value: b(v) }));
  const acl = {
    access: a.acl?.a === undefined ? undefined : b(a.acl.a),
    default: a.acl?.d === undefined ? undefined : b(a.acl.d),
  };
  const res = applyMetaSync(
    abs,
    {
      type,
      mode:
        mode === undefined ? Number(st.mode & 0o7777n) : cf.modes.apply(rel, mode, type === 'dir'),
      uid: a.uid ?? Number(st.uid),
      gid: a.gid ?? Number(st.gid),
      mtimeNs: a.ns === undefined ? st.mtimeNs : BigInt(a.ns),
      xattrs,
      acl,
    },
    { owner: a.uid !== undefined, xattrs: a.x !== undefined, acls: a.acl !== undefined },
  );
  cf.refusals.note(rel, res.notApplied);
}
