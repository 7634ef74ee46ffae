// Where a state dir's daemon listens for control verbs: `<kind>.sock` inside the state dir, never
// anywhere else (a guessable name in a shared directory can be bound first by another user, who
// then receives the verbs and their parameters). On Linux both ends reach the socket through an
// open descriptor of the state dir (/proc/self/fd/N/<kind>.sock): any path length fits a socket
// address, and the directory whose owner the client checks is the one it connects in.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';

// sun_path is 108 bytes on Linux (104 on macOS); keep a margin.
const MAX_SOCKET_PATH = 100;

/** Control endpoint of the `kind` daemon ('source' or 'target') that owns `stateDir`. */
export function controlPath(stateDir: string, kind: 'source' | 'target'): string {
  const abs = path.resolve(stateDir);
  if (process.platform === 'win32') {
    const h = crypto.createHash('sha256').update(abs.toLowerCase()).digest('hex').slice(0, 16);
    return `\\\\.\\pipe\\smr-${kind}-${h}`;
  }
  return path.join(abs, `${kind}.sock`);
}

/** An address that reaches the socket file `file`, and the state dir's descriptor behind it. */
export interface SocketAddress {
  address: string;
  dirFd: number | null;
  /** Closes the directory descriptor (after bind or connect). */
  close(): void;
}

/** A short address for `file`; throws when the platform has no way to reach a long one. */
export function reachSocket(file: string): SocketAddress {
  if (process.platform === 'win32') return { address: file, dirFd: null, close: () => undefined };
  if (process.platform === 'linux') {
    const fd = fs.openSync(path.dirname(file), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    let open = true;
    const close = (): void => {
      if (open) fs.closeSync(fd);
      open = false;
    };
    return { address: `/proc/self/fd/${fd}/${path.basename(file)}`, dirFd: fd, close };
  }
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH) {
    throw new SmrError(
      'config',
      `the state dir path is too long for a control socket: ${file}`,
      'use a shorter --state-dir',
    );
  }
  return { address: file, dirFd: null, close: () => undefined };
}

/**
 * Connects to the control socket `file`, first refusing one another user could have put there:
 * the state dir must be owned by this user (or root) and writable by no one else, and so must the
 * socket. A missing state dir connects to nothing (the caller sees ENOENT: no daemon).
 */
export function connectControl(file: string): net.Socket {
  let addr: SocketAddress;
  try {
    addr = reachSocket(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const s = new net.Socket();
    process.nextTick(() => s.destroy(err as Error));
    return s;
  }
  try {
    checkOwner(addr, file);
  } catch (err) {
    addr.close();
    throw err;
  }
  const sock = net.connect(addr.address);
  sock.once('connect', addr.close);
  sock.once('error', addr.close);
  return sock;
}

function checkOwner(addr: SocketAddress, file: string): void {
  if (process.platform === 'win32') return;
  const me = process.geteuid?.() ?? 0;
  const trusted = (uid: number): boolean => uid === me || uid === 0;
  const dir = addr.dirFd === null ? fs.statSync(path.dirname(file)) : fs.fstatSync(addr.dirFd);
  if (!trusted(dir.uid) || dir.mode & 0o022) {
    throw new SmrError(
      'permission',
      `permission denied: the state dir ${path.dirname(file)} is not this user's alone (owner uid ${dir.uid}, mode ${(dir.mode & 0o777).toString(8)})`,
      'use a state dir of your own (--state-dir)',
    );
  }
  const sock = fs.lstatSync(addr.address, { throwIfNoEntry: false });
  if (sock && !trusted(sock.uid)) {
    throw new SmrError(
      'permission',
      `permission denied: the control socket ${file} belongs to uid ${sock.uid}, not to this user (uid ${me}); not talking to it`,
      'run smr as the user that started the daemon',
    );
  }
}
