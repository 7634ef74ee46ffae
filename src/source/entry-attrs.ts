// The attributes capture sends with an entry (owner, ns mtime, xattrs, ACLs: protocol/attrs.ts),
// read with fsmeta, and the stamp that tells an attribute-only change (chown, setfattr, setfacl,
// touch) apart. Which of them a connection carries is its --no-owner/--no-xattrs/--no-acls.
import type { BigIntStats } from 'node:fs';
import {
  attrStampOf,
  displayPath,
  metaFromStat,
  msOfNs,
  readMetaSync,
  type AttrOptions,
  type FileMeta,
} from '../fsmeta/index.js';
import { stampDiff, type StampAttr, type WireAttrs } from '../protocol/attrs.js';
import { log } from '../shared/log.js';

/** Which optional attributes a connection carries (all by default). */
export type AttrChoice = Required<AttrOptions>;

/** Every attribute: the default of `connect`. */
export const ALL_ATTRS: AttrChoice = { owner: true, xattrs: true, acls: true };

/** The attributes a connection's record turns off (`connect --no-owner/--no-xattrs/--no-acls`). */
export type NotCarried = {
  noOwner?: boolean;
  noXattrs?: boolean;
  noAcls?: boolean;
  noHardLinks?: boolean;
};

/** What a connection carries, given what its record turns off. */
export function carried(c: NotCarried): AttrChoice {
  return { owner: !c.noOwner, xattrs: !c.noXattrs, acls: !c.noAcls };
}

/**
 * An attribute stamp and what tells later whether it still holds: the time its read began
 * (Date.now(), for known.ts provingCtime), or the ctime the index already proved it with.
 */
export interface HeldStamp {
  stamp: string;
  at?: number;
  ctimeNs?: bigint;
}

/** One entry's attributes as sent, and its stamp (read at `at`). */
export interface ReadAttrs {
  a: WireAttrs;
  stamp: string;
  at: number;
}

/** An attribute stamp with what the lstat it was read with said of the entry. */
export interface StatStamp {
  stamp: string;
  /** Date.now() as the read began. */
  at: number;
  type: FileMeta['type'];
  ino: number;
  size: number;
  /** As Node's Stats.mtimeMs gives it, so the two compare exactly. */
  mtimeMs: number;
  /** Permission bits (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
}

/** What the capture pipeline asks about attributes, per relative path. */
export interface EntryAttrs {
  /** The attributes to send with `rel`, or null when it is gone (or carries none). */
  read(rel: string): ReadAttrs | null;
  /**
   * read() from a stat the caller took at `at` (an open file's fstat): `named` tells whether the
   * entry has xattr names at all, asked only when xattrs or ACLs are carried; with none, nothing
   * more is read (else it is read() by path).
   */
  fromStat(rel: string, st: BigIntStats, at: number, named: () => boolean): ReadAttrs | null;
  /** Only the stamp of `rel` (null: gone). */
  stamp(rel: string): string | null;
  /** The stamp of `rel` and its stat, from one lstat (null: gone, or no attributes read). */
  statStamp(rel: string): StatStamp | null;
  /** Whether a target's listed stamp matches ours, for the attributes carried. */
  same(local: string, listed: string | undefined): boolean;
  /** Which carried attributes differ between our stamp and a target's listed one. */
  differing(local: string, listed: string | undefined): StampAttr[];
}

/** The stamp of `rel` read now, with the time the read began. */
export function readHeld(attrs: EntryAttrs, rel: string): HeldStamp | null {
  const at = Date.now();
  const stamp = attrs.stamp(rel);
  return stamp === null ? null : { stamp, at };
}

/** No attributes at all (a pipeline without a tree on disk: unit tests). */
export const NO_ATTRS: EntryAttrs = {
  read: () => null,
  fromStat: () => null,
  stamp: () => null,
  statStamp: () => null,
  same: () => true,
  differing: () => [],
};

const b64 = (b: Buffer): string => b.toString('base64');

/** Reads attributes below one base directory with fsmeta. */
export class DiskAttrs implements EntryAttrs {
  private warned = new Set<string>();

  constructor(
    private readonly abs: (rel: string) => string,
    private readonly choice: AttrChoice = ALL_ATTRS,
  ) {}

  read(rel: string): ReadAttrs | null {
    const at = Date.now();
    const m = this.meta(rel);
    return m ? this.attrsOf(m, at) : null;
  }

  private attrsOf(m: FileMeta, at: number): ReadAttrs {
    const a: WireAttrs = { ns: String(m.mtimeNs) };
    if (this.choice.owner) Object.assign(a, { uid: m.uid, gid: m.gid });
    if (this.choice.xattrs) a.x = m.xattrs.map((x) => [b64(x.name), b64(x.value)]);
    if (this.choice.acls) {
      a.acl = {};
      if (m.acl.access) a.acl.a = b64(m.acl.access);
      if (m.acl.default) a.acl.d = b64(m.acl.default);
    }
    return { a, stamp: this.stampOf(m), at };
  }

  fromStat(rel: string, st: BigIntStats, at: number, named: () => boolean): ReadAttrs | null {
    const { xattrs, acls } = this.choice;
    if ((xattrs || acls) && named()) return this.read(rel);
    // No names: what read() would find is no xattrs and no ACLs, so none are read.
    return this.attrsOf(metaFromStat(this.abs(rel), st, { xattrs: false, acls: false }), at);
  }

  stamp(rel: string): string | null {
    const m = this.meta(rel);
    return m ? this.stampOf(m) : null;
  }

  statStamp(rel: string): StatStamp | null {
    const at = Date.now();
    const m = this.meta(rel);
    if (!m) return null;
    const { type, size, mode, uid, gid } = m;
    return {
      stamp: this.stampOf(m),
      at,
      type,
      ino: Number(m.ino),
      size,
      mtimeMs: msOfNs(m.mtimeNs),
      mode,
      uid,
      gid,
    };
  }

  // An owner not carried must not look like a change (the digest already leaves out what is not).
  private stampOf(m: FileMeta): string {
    return attrStampOf(this.choice.owner ? m : { ...m, uid: 0, gid: 0 });
  }

  same(local: string, listed: string | undefined): boolean {
    return this.differing(local, listed).length === 0;
  }

  differing(local: string, listed: string | undefined): StampAttr[] {
    if (listed === undefined) return []; // an older target: nothing to compare with
    return stampDiff(local, listed).filter(
      (a) =>
        (a !== 'owner' || this.choice.owner) &&
        (a !== 'xattrs' || this.choice.xattrs) &&
        (a !== 'acl' || this.choice.acls),
    );
  }

  private meta(rel: string): FileMeta | null {
    try {
      const m = readMetaSync(this.abs(rel), { xattrs: this.choice.xattrs, acls: this.choice.acls });
      if (m.ignoredXattrs.length) this.warnIgnored(rel, m.ignoredXattrs);
      return m;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
  }

  // system.* xattrs other than the ACLs (rsync skips them too): said once per path.
  private warnIgnored(rel: string, names: Buffer[]): void {
    if (this.warned.has(rel) || this.warned.size >= 1000) return;
    this.warned.add(rel);
    log.warn(`${rel}: not replicated: xattrs ${names.map((n) => displayPath(n)).join(', ')}`);
  }
}
