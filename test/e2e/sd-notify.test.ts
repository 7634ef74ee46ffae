// systemd's Type=notify: both daemons send READY=1 to $NOTIFY_SOCKET once they serve, and
// STOPPING=1 when a stop signal arrives — to a socket path and to an abstract address. The
// listener is python3's socket module (Node cannot bind a unix datagram socket), standing in for
// systemd.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { SMR, cleanupAll, newKey, onCleanup, tmp, waitUntil } from '../helpers/harness.js';

afterEach(cleanupAll);

const LISTENER = `
import socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(("\\0" + addr[1:]) if addr.startswith("@") else addr)
print("bound", flush=True)
while True:
    print(s.recv(4096).decode(), flush=True)
`;

/** A stand-in for systemd's notify socket: every datagram it receives, in order. */
async function notifySocket(addr: string): Promise<string[]> {
  const p = spawn('python3', ['-c', LISTENER, addr], { stdio: ['ignore', 'pipe', 'inherit'] });
  onCleanup(async () => void p.kill());
  const got: string[] = [];
  const bound = new Promise<void>((resolve) => {
    readline.createInterface({ input: p.stdout }).on('line', (l) => {
      if (l === 'bound') resolve();
      else got.push(l);
    });
  });
  await bound;
  return got;
}

function daemon(
  args: string[],
  env: NodeJS.ProcessEnv,
): { proc: ChildProcess; exit: Promise<number | null> } {
  const proc = spawn(process.execPath, [SMR, ...args], {
    stdio: 'ignore',
    env: { ...process.env, ...env },
  });
  onCleanup(async () => void proc.kill('SIGKILL'));
  return { proc, exit: new Promise((r) => proc.once('exit', (c) => r(c))) };
}

/** Starts `args` with NOTIFY_SOCKET=addr; expects READY=1 once it serves, STOPPING=1 on SIGTERM. */
async function readyThenStopping(args: string[], addr: string): Promise<void> {
  const got = await notifySocket(addr);
  const d = daemon(args, { NOTIFY_SOCKET: addr });
  await waitUntil(() => got.includes('READY=1'), 30_000, 'READY=1');
  d.proc.kill('SIGTERM');
  expect(await d.exit).toBe(0);
  await waitUntil(() => got.includes('STOPPING=1'), 10_000, 'STOPPING=1');
  expect(got).toEqual(['READY=1', 'STOPPING=1']);
}

describe('sd_notify', () => {
  it('the source says READY=1 once serving and STOPPING=1 on SIGTERM (socket path)', async () => {
    const dir = await tmp('smr-notify-');
    const state = path.join(dir, 'state');
    await readyThenStopping(['source', 'start', '--state-dir', state], path.join(dir, 'n.sock'));
  });

  it('the target says READY=1 once listening and STOPPING=1 on SIGTERM (abstract address)', async () => {
    const dir = await tmp('smr-notify-');
    const key = await newKey();
    const args = ['target', 'start', '--listen', '127.0.0.1:0', '--root', path.join(dir, 'r')];
    const more = ['--key-file', key, '--state-dir', path.join(dir, 'state')];
    await readyThenStopping([...args, ...more], `@smr-test-${process.pid}-${Date.now()}`);
  });
});
