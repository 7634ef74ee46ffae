// `smr demo`: a source and a target on loopback, live changes replicated and proven equal.
import os from 'node:os';
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { generateKey } from '../../shared/key.js';
import { diffDigests, treeDigest } from '../../shared/tree-digest.js';
import { callSource } from '../../control/client.js';
import { spawnDaemon, type ChildDaemon } from '../spawn-daemon.js';
import { INSTALL_ROOT } from '../../shared/self.js';
import type { Verb } from '../verb.js';

const SNAPSHOT_TASK = path.join(INSTALL_ROOT, 'templates', 'tasks', 'snapshot-copy.sh');

export const demoVerb: Verb = {
  schedulable: false,
  command: 'demo',
  describe: 'Run a source and a target on loopback and replicate live changes',
  builder: (y) => y.option('keep', { type: 'boolean', describe: 'keep the demo directory' }),
  async run(a: { keep?: boolean }, ctx) {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-demo-'));
    const say = (s: string): void => {
      if (!ctx.json && !ctx.quiet) process.stdout.write(s + '\n');
    };
    const daemons: ChildDaemon[] = [];
    const steps: string[] = [];
    try {
      const src = path.join(dir, 'source');
      const root = path.join(dir, 'replica');
      const keyFile = path.join(dir, 'smr.key');
      await fsp.mkdir(src);
      await fsp.writeFile(keyFile, generateKey() + '\n', { mode: 0o600 });
      const tasksDir = path.join(dir, 'tasks');
      await fsp.mkdir(tasksDir);
      await fsp.copyFile(SNAPSHOT_TASK, path.join(tasksDir, 'snapshot-copy.sh'));
      await fsp.chmod(path.join(tasksDir, 'snapshot-copy.sh'), 0o755);
      await fsp.writeFile(path.join(src, 'hello.txt'), 'hello from the source\n');
      say(`demo directory: ${dir}`);
      const target = await spawnDaemon([
        'target',
        'start',
        '--listen',
        '127.0.0.1:0',
        '--root',
        root,
        '--key-file',
        keyFile,
        '--state-dir',
        path.join(dir, 'target-state'),
        '--allow-tasks',
        '--tasks-dir',
        tasksDir,
      ]);
      daemons.push(target);
      const to = `127.0.0.1:${String(target.ready.port)}`;
      say(`target listening on ${to}, replicas under ${root}`);
      const stateDir = path.join(dir, 'source-state');
      daemons.push(await spawnDaemon(['source', 'start', '--state-dir', stateDir]));
      say('source daemon ready');
      await callSource(stateDir, 'connect', {
        name: 'demo',
        to,
        path: src,
        targetPath: 'demo',
        keyFile,
        include: [],
        exclude: [],
        mirror: 'diff',
      });
      say(`connected "demo": ${src} -> ${to} demo (initial diff mirror)`);
      await callSource(stateDir, 'wait', { name: 'demo', for: 'synced', timeoutMs: 60_000 });
      steps.push('mirror');
      say('initial mirror complete');
      // Live changes: create, write, append, rename, directory tree, symlink, chmod, delete.
      await fsp.mkdir(path.join(src, 'docs', 'deep'), { recursive: true });
      await fsp.writeFile(
        path.join(src, 'docs', 'deep', 'notes — ünïcode.md'),
        '# notes\n'.repeat(1000),
      );
      await fsp.writeFile(path.join(src, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
      await fsp.appendFile(path.join(src, 'hello.txt'), 'a second line\n');
      await fsp.rename(path.join(src, 'docs'), path.join(src, 'documents'));
      await fsp.symlink('hello.txt', path.join(src, 'link-to-hello'));
      await fsp.chmod(path.join(src, 'big.bin'), 0o600);
      const fh = await fsp.open(path.join(src, 'big.bin'), 'r+');
      await fh.write(Buffer.from('changed block'), 0, 13, 1024 * 1024);
      await fh.close();
      await fsp.writeFile(path.join(src, 'to-delete.tmp'), 'bye');
      await fsp.rm(path.join(src, 'to-delete.tmp'));
      say(
        'made live changes: create, write, append, directory rename, symlink, chmod, in-place block write, delete',
      );
      const t0 = Date.now();
      const s = await callSource(stateDir, 'wait', {
        name: 'demo',
        for: 'synced',
        timeoutMs: 60_000,
      });
      steps.push('live');
      say(
        `target acknowledged seq ${s.lastAckedSeq} after ${Date.now() - t0} ms (${s.sent.bytes} bytes of data sent)`,
      );
      const diffs = diffDigests(await treeDigest(src), await treeDigest(path.join(root, 'demo')));
      const same = diffs.length === 0;
      say(
        same
          ? 'replica matches the source byte for byte, mode for mode'
          : `replica differs:\n  ${diffs.join('\n  ')}`,
      );
      steps.push(same ? 'verified' : 'differs');
      // A task in line with the data: it runs on the target once everything before it is applied.
      const expected = await treeDigest(src);
      const task = await callSource(stateDir, 'queue-task', {
        name: 'demo',
        on: 'execute',
        command: 'snapshot-copy.sh',
        args: ['--keep', '3'],
        timeoutMs: 60_000,
        wait: true,
        waitTimeoutMs: 60_000,
      });
      await fsp.writeFile(
        path.join(src, 'after-the-task.txt'),
        'written after the task was queued\n',
      );
      const snapshot = task.outputTail[task.outputTail.length - 1] ?? '';
      const snapDiffs =
        task.state === 'succeeded'
          ? diffDigests(expected, await treeDigest(snapshot))
          : [`task ${task.state}`];
      say(`task ${task.id} (snapshot-copy.sh) ${task.state} on the target: ${snapshot}`);
      say(
        snapDiffs.length
          ? `snapshot differs:\n  ${snapDiffs.join('\n  ')}`
          : 'the snapshot equals the source as it was when the task was queued',
      );
      steps.push(snapDiffs.length ? 'snapshot-differs' : 'task');
      const ok = same && snapDiffs.length === 0;
      return {
        data: { ok, dir, steps, differences: [...diffs, ...snapDiffs], task },
        exitCode: ok ? 0 : 1,
      };
    } finally {
      for (const d of daemons.reverse()) await d.stop();
      if (!a.keep) await fsp.rm(dir, { recursive: true, force: true });
    }
  },
};
