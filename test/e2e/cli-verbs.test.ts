// Verbs an operator scripts around: `tasks wait ID`, `--version --json`, `templates copy X dir/`,
// and the task table's alignment.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  smr,
  startSource,
  startTarget,
  tmp,
  waitSynced,
} from '../helpers/harness.js';

afterEach(cleanupAll);

async function tasksDir(scripts: Record<string, string>): Promise<string> {
  const d = await tmp('smr-tasks-');
  for (const [name, body] of Object.entries(scripts))
    await fsp.writeFile(path.join(d, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return d;
}

describe('smr tasks wait ID', () => {
  it("exits by the task's result, 6 on its timeout, 2 for an unknown id", async () => {
    const td = await tasksDir({ 'ok.sh': 'sleep 1; echo done', 'fails.sh': 'exit 3' });
    const t = await startTarget({ extra: ['--allow-tasks', '--tasks-dir', td] });
    const s = await startSource();
    await connect(s, 'web', t, await tmp('smr-src-'));
    await waitSynced(s, 'web');
    const sd = ['--state-dir', s.stateDir];
    const queue = async (cmd: string): Promise<string> => {
      const r = await smr(['queue-task', 'web', ...sd, '--', cmd]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const ok = await queue('ok.sh');
    const w = await smr(['tasks', 'wait', ok, '--json', ...sd]);
    expect(w.code, w.stderr).toBe(0);
    expect(w.json).toMatchObject({ id: ok, connection: 'web', state: 'succeeded', exitCode: 0 });
    const failed = await smr(['tasks', 'wait', await queue('fails.sh'), ...sd]);
    expect(failed.code).toBe(5);
    expect(failed.stdout).toMatch(/failed/);

    // With transmission stopped the task stays queued: the wait gives up, naming its state.
    expect((await smr(['transmit', 'stop', 'web', ...sd])).code).toBe(0);
    const stuck = await queue('ok.sh');
    const late = await smr(['tasks', 'wait', stuck, '--timeout', '1s', ...sd]);
    expect(late.code).toBe(6);
    expect(late.stderr).toMatch(/queued/);
    expect((await smr(['tasks', 'wait', 'tnope', ...sd])).code).toBe(2);
    expect((await smr(['tasks', 'wait', ...sd])).code).toBe(2);

    // The table's columns line up whatever the lengths of states and commands.
    const list = await smr(['tasks', 'web', ...sd]);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +CONNECTION +ON +STATE +EXIT +WHEN +TOOK +COMMAND$/);
    const at = (l: string, word: string): number => l.indexOf(word);
    const stateCol = at(lines[0] as string, 'STATE');
    const rows = lines.slice(1);
    expect(rows.length).toBe(3);
    for (const l of rows) expect(l.slice(stateCol)).toMatch(/^(succeeded|failed|queued) /);
  });
});

describe('small verbs', () => {
  it('--version --json prints one JSON object', async () => {
    const r = await smr(['--version', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      node: expect.any(String),
    });
    expect((await smr(['--version'])).stdout.trim()).toBe(r.json.version);
  });

  it('templates copy into "dir/" creates the directory and copies into it', async () => {
    const dir = await tmp('smr-tpl-');
    const dest = path.join(dir, 'scripts') + '/';
    const r = await smr(['templates', 'copy', 'scripts/remirror.sh', dest, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.path).toBe(path.join(dir, 'scripts', 'remirror.sh'));
    expect((await fsp.stat(path.join(dir, 'scripts'))).isDirectory()).toBe(true);
    expect((await fsp.stat(r.json.path)).mode & 0o111).not.toBe(0);
    // Into an existing directory without the slash, and to a file name.
    const again = await smr(['templates', 'copy', 'remirror.sh', path.join(dir, 'scripts')]);
    expect(again.code).toBe(2); // already there
    const named = await smr(['templates', 'copy', 'remirror.sh', path.join(dir, 'mine.sh')]);
    expect(named.code, named.stderr).toBe(0);
    expect((await fsp.stat(path.join(dir, 'mine.sh'))).isFile()).toBe(true);
  });
});
