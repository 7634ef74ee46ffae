// The scale bench's generated tree: N files of 200 B–16 KiB (log-uniform sizes) spread evenly over
// D directories (√D top-level directories of √D subdirectories each, files in the subdirectories),
// pseudo-random content, deterministic for a seed. Also used by the watcher probe.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const MIN_SIZE = 200;
const MAX_SIZE = 16 * 1024;
/** mtime of every generated file (deterministic, so two generations compare equal). */
export const TREE_MTIME_SEC = 1_700_000_000;

function prng(seed) {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Directories for `files` files when not given: 10,000 from 100k files up, else one per 10 files. */
export function defaultDirs(files) {
  return files >= 100_000 ? 10_000 : Math.max(1, Math.ceil(files / 10));
}

/** The relative directory paths of a tree of `dirs` leaf directories (top-level ones first). */
export function treeDirs(dirs) {
  const top = Math.max(1, Math.round(Math.sqrt(dirs)));
  const out = [];
  for (let i = 0; out.length < dirs; i++) {
    const t = `d${String(i).padStart(4, '0')}`;
    for (let j = 0; j < top && out.length < dirs; j++)
      out.push(`${t}/s${String(j).padStart(4, '0')}`);
  }
  return out;
}

/**
 * Writes the tree under `root` (created; must not exist). `progress(n)` is called every 10,000
 * files. Returns { files, dirs (all directories, top-level ones included), bytes }.
 */
export function generateTree(root, { files, dirs = defaultDirs(files), seed = 1, progress }) {
  const rnd = prng(seed * 7919 + 17);
  const leaves = treeDirs(dirs);
  const tops = new Set(leaves.map((l) => l.split('/')[0]));
  fs.mkdirSync(root, { recursive: true });
  for (const l of leaves) fs.mkdirSync(path.join(root, l), { recursive: true });
  // One 64 MiB pool of random bytes; each file is a slice at a random offset.
  const pool = crypto
    .createCipheriv(
      'aes-256-ctr',
      crypto.createHash('sha256').update(`scale:${seed}`).digest(),
      Buffer.alloc(16),
    )
    .update(Buffer.alloc(64 * 1024 * 1024));
  const lnMin = Math.log(MIN_SIZE);
  const lnSpan = Math.log(MAX_SIZE) - lnMin;
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const size = Math.round(Math.exp(lnMin + rnd() * lnSpan));
    const off = Math.floor(rnd() * (pool.length - size));
    const f = path.join(root, leaves[i % leaves.length], `f${String(i).padStart(7, '0')}.dat`);
    const fd = fs.openSync(f, 'w');
    fs.writeSync(fd, pool, off, size);
    fs.futimesSync(fd, TREE_MTIME_SEC, TREE_MTIME_SEC);
    fs.closeSync(fd);
    bytes += size;
    if (progress && (i + 1) % 10_000 === 0) progress(i + 1);
  }
  return { files, dirs: leaves.length + tops.size, bytes };
}

/** Reads back { files, dirs, bytes } of an existing tree written by generateTree (from its stamp). */
export function readStamp(root) {
  try {
    return JSON.parse(fs.readFileSync(`${root}.json`, 'utf8'));
  } catch {
    return null;
  }
}

/** Generates the tree at `root` unless a complete one with the same parameters is there already. */
export function ensureTree(root, params) {
  const want = {
    files: params.files,
    dirs: params.dirs ?? defaultDirs(params.files),
    seed: params.seed ?? 1,
  };
  const have = readStamp(root);
  if (
    have &&
    have.files === want.files &&
    have.dirs === want.dirs &&
    have.seed === want.seed &&
    fs.existsSync(root)
  )
    return { ...have, reused: true };
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(`${root}.json`, { force: true });
  const t0 = Date.now();
  const info = generateTree(root, { ...want, progress: params.progress });
  const stamp = { ...want, totalDirs: info.dirs, bytes: info.bytes, generatedMs: Date.now() - t0 };
  fs.writeFileSync(`${root}.json`, JSON.stringify(stamp));
  return { ...stamp, reused: false };
}
