// Task programs: the bare-name rule, what the tasks folder may hold, and running without a shell.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import {
  MAX_TAIL_LINE_CHARS,
  OutputTail,
  resolveTaskProgram,
  runTask,
  validateTaskCommand,
} from '../../../src/tasks/index.js';

const posix = process.platform !== 'win32';
let tasksDir: string;
let outside: string;

async function script(name: string, body: string, mode = 0o755): Promise<string> {
  const file = path.join(tasksDir, name);
  await fsp.writeFile(file, `#!/bin/sh\n${body}\n`, { mode });
  await fsp.chmod(file, mode);
  return file;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SmrError ? err.code : 'not-smr-error';
  }
  return undefined;
}

async function rejection(p: Promise<unknown>): Promise<SmrError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SmrError);
  return err as SmrError;
}

/** True while the process exists and is not a zombie (a container's init may never reap it). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    try {
      process.kill(pid, 0);
      return process.platform !== 'linux';
    } catch {
      return false;
    }
  }
}

beforeAll(async () => {
  tasksDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-tasks-'));
  outside = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-outside-'));
});

afterAll(async () => {
  await fsp.rm(tasksDir, { recursive: true, force: true });
  await fsp.rm(outside, { recursive: true, force: true });
});

describe('validateTaskCommand', () => {
  it('accepts bare names', () => {
    for (const ok of ['snapshot.sh', 'a', 'my task', '-weird', '...', 'x'.repeat(255)]) {
      expect(() => validateTaskCommand(ok)).not.toThrow();
    }
  });

  it('refuses paths, dots, NUL, empty and over-long names with a usage error', () => {
    for (const bad of [
      '',
      '.',
      '..',
      'a/b',
      '/bin/sh',
      '../x',
      'a\\b',
      'a\0b',
      'x'.repeat(256),
      'é'.repeat(128),
    ]) {
      expect(
        codeOf(() => validateTaskCommand(bad)),
        JSON.stringify(bad),
      ).toBe('usage');
    }
  });

  it('gives one clear line', () => {
    try {
      validateTaskCommand('../etc/passwd');
    } catch (err) {
      expect((err as Error).message).toContain('path separator');
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

describe.runIf(posix)('resolveTaskProgram', () => {
  it('returns the absolute path of an executable directly in the tasks folder', async () => {
    const file = await script('ok.sh', 'exit 0');
    await expect(resolveTaskProgram(tasksDir, 'ok.sh')).resolves.toBe(file);
  });

  it('rejects slash names as task-failed', async () => {
    const err = await rejection(resolveTaskProgram(tasksDir, '../ok.sh'));
    expect(err.code).toBe('task-failed');
    expect(err.message).toMatch(/rejected: .*path separator/);
    expect((await rejection(resolveTaskProgram(tasksDir, '/bin/true'))).code).toBe('task-failed');
  });

  it('rejects a missing program', async () => {
    const err = await rejection(resolveTaskProgram(tasksDir, 'nope.sh'));
    expect(err.code).toBe('task-failed');
    expect(err.message).toMatch(/rejected: no such program/);
  });

  it('rejects a non-executable file', async () => {
    await script('plain.sh', 'exit 0', 0o644);
    const err = await rejection(resolveTaskProgram(tasksDir, 'plain.sh'));
    expect(err.message).toMatch(/not executable/);
    expect(err.hint).toMatch(/chmod \+x/);
  });

  it('rejects symlinks, even to an executable outside the folder', async () => {
    const target = path.join(outside, 'evil.sh');
    await fsp.writeFile(target, '#!/bin/sh\necho evil\n', { mode: 0o755 });
    await fsp.symlink(target, path.join(tasksDir, 'link.sh'));
    const err = await rejection(resolveTaskProgram(tasksDir, 'link.sh'));
    expect(err.code).toBe('task-failed');
    expect(err.message).toMatch(/symbolic link/);
  });

  it('rejects a directory', async () => {
    await fsp.mkdir(path.join(tasksDir, 'adir'));
    expect((await rejection(resolveTaskProgram(tasksDir, 'adir'))).message).toMatch(
      /not a regular file/,
    );
  });
});

describe('OutputTail', () => {
  it('keeps only the last lines, interleaved by arrival, with partial lines joined', () => {
    const t = new OutputTail(3);
    t.write('stdout', 'a\nb');
    t.write('stderr', 'E1\n');
    t.write('stdout', 'c\nd\n');
    t.write('stderr', 'E2');
    expect(t.finish()).toEqual(['bc', 'd', 'E2']);
    expect(t.dropped).toBe(2);
  });

  it('bounds a single endless line', () => {
    const t = new OutputTail(2);
    for (let i = 0; i < 100; i++) t.write('stdout', 'x'.repeat(1000));
    const lines = t.finish();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(MAX_TAIL_LINE_CHARS + 50);
    expect(lines[0]).toMatch(/truncated/);
  });

  it('decodes UTF-8 split across chunks', () => {
    const t = new OutputTail(5);
    const bytes = Buffer.from('héllo\n');
    t.write('stdout', bytes.subarray(0, 2));
    t.write('stdout', bytes.subarray(2));
    expect(t.finish()).toEqual(['héllo']);
  });
});

describe.runIf(posix)('runTask', () => {
  it('reports success with output', async () => {
    const program = await script('hello.sh', 'echo hello; echo to-stderr >&2');
    const r = await runTask({ program, timeoutMs: 10_000 });
    expect(r.state).toBe('succeeded');
    expect(r.exitCode).toBe(0);
    expect(r.error).toBeUndefined();
    expect(r.outputTail).toEqual(expect.arrayContaining(['hello', 'to-stderr']));
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a failing exit code without throwing', async () => {
    const program = await script('fail.sh', 'echo oops >&2; exit 3');
    const r = await runTask({ program, timeoutMs: 10_000 });
    expect(r).toMatchObject({ state: 'failed', exitCode: 3, outputTail: ['oops'] });
    expect(r.error).toMatch(/code 3/);
  });

  it('reports a program that cannot start as failed', async () => {
    const r = await runTask({ program: path.join(tasksDir, 'vanished.sh'), timeoutMs: 10_000 });
    expect(r.state).toBe('failed');
    expect(r.exitCode).toBeNull();
    expect(r.error).toMatch(/ENOENT/);
  });

  it('passes the SMR_ environment on top of process.env', async () => {
    const program = await script(
      'env.sh',
      'echo "C=$SMR_CONNECTION T=$SMR_TASK_ID S=$SMR_SEQ P=$SMR_TARGET_PATH"; echo "PATH_SET=${PATH:+yes}"',
    );
    const env = {
      SMR_CONNECTION: 'web',
      SMR_TASK_ID: 't-42',
      SMR_SEQ: '1234',
      SMR_TARGET_PATH: '/srv/replica/web',
    };
    const r = await runTask({ program, env, timeoutMs: 10_000 });
    expect(r.outputTail).toEqual(['C=web T=t-42 S=1234 P=/srv/replica/web', 'PATH_SET=yes']);
  });

  it('passes arguments verbatim, with no shell in between', async () => {
    const program = await script('args.sh', 'for a in "$@"; do printf "[%s]\\n" "$a"; done');
    const args = ['two words', `it's "quoted"`, '$HOME', '`id`', '*', '; rm -rf /', ''];
    const r = await runTask({ program, args, timeoutMs: 10_000 });
    expect(r.state).toBe('succeeded');
    expect(r.outputTail).toEqual(args.map((a) => `[${a}]`));
  });

  it('runs in the given working directory, by default the tasks folder', async () => {
    const program = await script('pwd.sh', 'pwd');
    const real = await fsp.realpath(tasksDir);
    expect((await runTask({ program, timeoutMs: 10_000 })).outputTail).toEqual([real]);
    const other = await fsp.realpath(outside);
    expect((await runTask({ program, cwd: outside, timeoutMs: 10_000 })).outputTail).toEqual([
      other,
    ]);
  });

  it('times out a hung script and ends its whole process tree', async () => {
    const pidFile = path.join(outside, 'child.pid');
    const program = await script(
      'hang.sh',
      `sleep 300 & echo $! > "${pidFile}"; echo started; wait`,
    );
    const t0 = Date.now();
    const r = await runTask({ program, timeoutMs: 500, killGraceMs: 500 });
    expect(r.state).toBe('timed-out');
    expect(r.error).toMatch(/timed out/);
    expect(r.outputTail).toContain('started');
    expect(Date.now() - t0).toBeLessThan(5000);
    const childPid = Number(await fsp.readFile(pidFile, 'utf8'));
    // The background grandchild was signalled too.
    await new Promise((res) => setTimeout(res, 200));
    expect(await alive(childPid)).toBe(false);
  });

  it('escalates to SIGKILL for a script that ignores SIGTERM', async () => {
    const program = await script(
      'stubborn.sh',
      "trap '' TERM; echo stubborn; while :; do sleep 0.1; done",
    );
    const t0 = Date.now();
    const r = await runTask({ program, timeoutMs: 300, killGraceMs: 300 });
    expect(r.state).toBe('timed-out');
    expect(r.exitCode).toBeNull();
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('timeoutMs 0 means no timeout', async () => {
    const program = await script('short.sh', 'sleep 0.3; echo done');
    const r = await runTask({ program, timeoutMs: 0 });
    expect(r).toMatchObject({ state: 'succeeded', outputTail: ['done'] });
  });

  it('does not hang on a background process that keeps the output pipe open', async () => {
    const pidFile = path.join(outside, 'bg.pid');
    const program = await script(
      'daemonize.sh',
      `sleep 30 & echo $! > "${pidFile}"; echo parent-done`,
    );
    const t0 = Date.now();
    const r = await runTask({ program, timeoutMs: 0 });
    expect(r.state).toBe('succeeded');
    expect(r.outputTail).toContain('parent-done');
    expect(Date.now() - t0).toBeLessThan(10_000);
    process.kill(Number(await fsp.readFile(pidFile, 'utf8')), 'SIGKILL');
  });

  it('keeps only the tail of a large output', async () => {
    const program = await script(
      'loud.sh',
      'i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done; echo last >&2',
    );
    const r = await runTask({ program, timeoutMs: 30_000, outputTailLines: 5 });
    expect(r.state).toBe('succeeded');
    expect(r.outputTail).toHaveLength(5);
    expect(r.outputTail.at(-1)).toBe('last');
    expect(r.outputTail[0]).toBe('line 19996');
  });

  it('defaults to a 20-line tail', async () => {
    const program = await script(
      'forty.sh',
      'i=0; while [ $i -lt 40 ]; do echo "l$i"; i=$((i+1)); done',
    );
    const r = await runTask({ program, timeoutMs: 10_000 });
    expect(r.outputTail).toHaveLength(20);
    expect(r.outputTail[0]).toBe('l20');
  });
});
