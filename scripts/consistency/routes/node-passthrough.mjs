// A passthrough file system in Node (fuse-napi, FUSE 3 high-level API), the shape a
// write-interception capture in smr would have: every call goes to the backing directory with a
// synchronous fs call on the one JS thread, and with a journal file every mutation is appended to
// it (in the order the kernel delivered them) before the call returns; an fsync of a file also
// fdatasyncs the journal. A prototype to measure, not smr code.
//
//   node node-passthrough.mjs FUSE_NAPI_DIR BACKING MOUNTPOINT [JOURNAL]
// Prints "mounted" once the mount answers; unmounts on SIGTERM.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [napiDir, backing, mnt, journalFile] = process.argv.slice(2);
const Fuse = createRequire(path.join(napiDir, 'x.js'))('fuse-napi');
const P = (p) => path.join(backing, p);
const jfd = journalFile ? fs.openSync(journalFile, 'a') : null;
const header = Buffer.alloc(64);

/** Appends one record (op, path, offset, length, then the data) to the journal. */
function journal(op, p, pos = 0, buf = null, len = 0) {
  if (jfd === null) return;
  const line = `${op} ${p} ${pos} ${len}\n`;
  const n = header.write(line);
  fs.writeSync(jfd, header, 0, n);
  if (buf && len) fs.writeSync(jfd, buf, 0, len);
}

/** Wraps a handler: errors from fs become the negative errno FUSE wants. */
const h =
  (fn) =>
  (...args) => {
    const cb = args[args.length - 1];
    try {
      fn(cb, ...args.slice(0, -1));
    } catch (e) {
      cb(typeof e.errno === 'number' ? e.errno : -5);
    }
  };

const ops = {
  getattr: h((cb, p) => cb(0, fs.lstatSync(P(p)))),
  fgetattr: h((cb, p, fd) => cb(0, fs.fstatSync(fd))),
  access: h((cb) => cb(0)),
  statfs: h((cb) => {
    const s = fs.statfsSync(backing);
    cb(0, {
      bsize: s.bsize,
      frsize: s.bsize,
      blocks: s.blocks,
      bfree: s.bfree,
      bavail: s.bavail,
      files: s.files,
      ffree: s.ffree,
      favail: s.ffree,
      fsid: 0,
      flag: 0,
      namemax: 255,
    });
  }),
  readdir: h((cb, p) => cb(0, fs.readdirSync(P(p)))),
  readlink: h((cb, p) => cb(0, fs.readlinkSync(P(p)))),
  open: h((cb, p, flags) => cb(0, fs.openSync(P(p), flags))),
  createWithFlags: h((cb, p, mode, flags) => {
    const fd = fs.openSync(P(p), flags | fs.constants.O_CREAT, mode);
    journal('create', p);
    cb(0, fd);
  }),
  read: h((cb, _p, fd, buf, len, pos) => cb(fs.readSync(fd, buf, 0, len, pos))),
  write: h((cb, p, fd, buf, len, pos) => {
    const n = fs.writeSync(fd, buf, 0, len, pos);
    journal('write', p, pos, buf, n);
    cb(n);
  }),
  flush: h((cb) => cb(0)),
  release: h((cb, _p, fd) => (fs.closeSync(fd), cb(0))),
  fsync: h((cb, _p, datasync, fd) => {
    if (datasync) fs.fdatasyncSync(fd);
    else fs.fsyncSync(fd);
    if (jfd !== null) fs.fdatasyncSync(jfd);
    cb(0);
  }),
  fsyncdir: h((cb, p) => {
    const fd = fs.openSync(P(p), 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    cb(0);
  }),
  truncate: h((cb, p, size) => (fs.truncateSync(P(p), size), journal('truncate', p, size), cb(0))),
  ftruncate: h(
    (cb, p, fd, size) => (fs.ftruncateSync(fd, size), journal('truncate', p, size), cb(0)),
  ),
  unlink: h((cb, p) => (fs.unlinkSync(P(p)), journal('unlink', p), cb(0))),
  rename: h((cb, a, b) => (fs.renameSync(P(a), P(b)), journal('rename', `${a}\0${b}`), cb(0))),
  mkdir: h((cb, p, mode) => (fs.mkdirSync(P(p), mode), journal('mkdir', p), cb(0))),
  rmdir: h((cb, p) => (fs.rmdirSync(P(p)), journal('rmdir', p), cb(0))),
  chmod: h((cb, p, mode) => (fs.chmodSync(P(p), mode), journal('chmod', p, mode), cb(0))),
  chown: h((cb, p, u, g) => (fs.lchownSync(P(p), u, g), journal('chown', p), cb(0))),
  utimens: h((cb, p, a, m) => (fs.utimesSync(P(p), a, m), journal('utimens', p), cb(0))),
  symlink: h((cb, a, b) => (fs.symlinkSync(a, P(b)), journal('symlink', b), cb(0))),
  link: h((cb, a, b) => (fs.linkSync(P(a), P(b)), journal('link', b), cb(0))),
};

const fuse = new Fuse(mnt, ops, { force: true, mkdir: true });
fuse.mount((err) => {
  if (err) {
    process.stderr.write(`mount failed: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write('mounted\n');
});
// The mount holds no handle on the event loop: without this the process would exit (and the
// mount go away under the application) as soon as it is mounted.
const keepAlive = setInterval(() => undefined, 1 << 30);
process.on('SIGTERM', () => fuse.unmount(() => (clearInterval(keepAlive), process.exit(0))));
