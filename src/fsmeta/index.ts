// fsmeta: reading, writing and comparing every attribute smr replicates (docs/FIDELITY.md).
export type {
  Acls,
  AttrOptions,
  DeviceNumber,
  EntryType,
  FileMeta,
  MetaAttr,
  Xattr,
} from './types.js';
export {
  displayPath,
  fsPath,
  isUtf8,
  joinBytes,
  nameByteLength,
  nameBytes,
  nameFromBytes,
  nameProblem,
  pathBytes,
  type FsPath,
} from './paths.js';
export { entryTypeOf, makeDev, splitDev } from './entry-type.js';
export { readMetaSync, metaFromStat, msOfNs } from './read.js';
export {
  getXattr,
  hasXattrsFd,
  listXattrNames,
  readXattrs,
  removeXattr,
  setXattr,
  isCarriedXattr,
} from './xattr.js';
export { ACL_ACCESS, ACL_DEFAULT, aclToText, parseAcl, encodeAcl, type AclEntry } from './acl.js';
export { attrDigest, attrStampOf, plainAttrStamp } from './digest.js';
export {
  applyMetaSync,
  setModeSync,
  setMtimeNsSync,
  setOwnerSync,
  type ApplyResult,
  type WantedMeta,
} from './apply.js';
export { syncAclsSync, syncXattrsSync } from './apply-xattrs.js';
export type { NotApplied } from './not-applied.js';
export { makeHardLinkSync, makeNodeSync, type NodeResult, type NodeType } from './nodes.js';
export { readdirBytes, walkBytes, type ByteDirent, type WalkEntry } from './walk.js';
export { extents, isAllZero, SparseWriter, SPARSE_BLOCK, type Extent } from './sparse.js';
export { metaDiff, type ComparableMeta } from './compare.js';
export { linkGroupDiff, linkGroups, type LinkMember } from './hardlinks.js';
export {
  futimensMtime,
  futimensMtimeText,
  openAt,
  syncfsAsync,
  unixDatagram,
  willNeed,
} from './libc.js';
export { fstatatPlan, type FstatatPlan } from '../shared/fstatat-plan.js';
export { capMallocArenas, trimMalloc } from './malloc.js';
