// The metadata smr replicates for one directory entry, as read by readMeta and applied by applyMeta.

/** The kinds of directory entry smr can carry. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block';

/** One extended attribute; names are bytes like paths (Linux does not require UTF-8 there either). */
export interface Xattr {
  name: Buffer;
  value: Buffer;
}

/** POSIX ACLs as the kernel's raw `system.posix_acl_*` xattr values (see acl.ts for why raw). */
export interface Acls {
  access?: Buffer;
  default?: Buffer;
}

/** A device's identity, for char and block devices. */
export interface DeviceNumber {
  major: number;
  minor: number;
}

/** Everything about an entry that smr replicates or needs to recognise it, content aside. */
export interface FileMeta {
  type: EntryType;
  /** Permission bits with setuid, setgid and sticky (mode & 0o7777); 0o777 for a symlink. */
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  size: number;
  ino: bigint;
  dev: bigint;
  nlink: number;
  /** char and block devices only. */
  rdev?: DeviceNumber;
  /** symlinks only: the target exactly as stored, bytes. */
  linkTarget?: Buffer;
  /** user., trusted. and security. xattrs visible to this process, sorted by name bytes. */
  xattrs: Xattr[];
  acl: Acls;
  /** system.* names other than the ACLs (e.g. system.nfs4_acl): seen, not carried; the caller logs them. */
  ignoredXattrs: Buffer[];
  /** attrDigest(xattrs, acl, mode): '' when there are none. */
  attrDigest: string;
}

/** The attribute names verify prints, as in the CLI contract. */
export type MetaAttr = 'type' | 'mode' | 'owner' | 'mtime' | 'xattrs' | 'acl' | 'link target';

/** Which optional attributes to read, apply or compare (`connect --no-owner/--no-xattrs/--no-acls`). */
export interface AttrOptions {
  owner?: boolean;
  xattrs?: boolean;
  acls?: boolean;
}
