// Filters as rsync users expect them, through real daemons: a name excludes at any depth, a
// leading slash anchors, a trailing slash means directories only, and --exclude-from reads a file.
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
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

/** Every regular file below `dir`, relative, sorted (an independent walk). */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

describe('rsync-like filters', () => {
  it('apply at any depth, anchored, to directories only, from a file; mirror and live alike', async () => {
    const src = await tmp('smr-src-');
    for (const f of [
      'node_modules/a.js',
      'web/node_modules/b.js',
      'web/app.js',
      'build/out.bin',
      'src/build/keep.txt',
      'logs/today.log',
      'deep/er/x.log',
      'cache/c.dat',
      'web/cache',
    ])
      await write(path.join(src, f), f);
    const rules = path.join(await tmp('smr-rules-'), 'excludes');
    await fsp.writeFile(
      rules,
      '# build output, top level only\n/build\n\n; logs anywhere\n*.log\n',
    );
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'web', t, src, [
      '--exclude',
      'node_modules',
      '--exclude',
      'cache/',
      '--exclude-from',
      rules,
    ]);
    await waitSynced(s, 'web');
    const kept = ['src/build/keep.txt', 'web/app.js', 'web/cache'];
    expect(await files(path.join(t.root, 'web'))).toEqual(kept);
    // Live changes follow the same rules.
    await write(path.join(src, 'x/y/node_modules/new.js'), 'no');
    await write(path.join(src, 'x/y/new.log'), 'no');
    await write(path.join(src, 'x/y/ok.txt'), 'yes');
    await waitSynced(s, 'web');
    expect(await files(path.join(t.root, 'web'))).toEqual([...kept, 'x/y/ok.txt'].sort());
    const verify = await smr(['verify', 'web', '--state-dir', s.stateDir]);
    expect(verify.code, verify.stdout).toBe(0);
  });

  it('refuses a pattern that can never match and a missing pattern file, recording nothing', async () => {
    const t = await startTarget();
    const s = await startSource();
    const src = await tmp('smr-src-');
    const base = [
      'connect',
      'web',
      '--to',
      t.addr,
      '--path',
      src,
      '--key-file',
      t.keyFile as string,
    ];
    const sd = ['--state-dir', s.stateDir];
    const bad = await smr([...base, '--exclude', '../x', ...sd]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/can never match/);
    const missing = await smr([...base, '--exclude-from', '/nonexistent/rules', ...sd]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--exclude-from \/nonexistent\/rules/);
    const st = await smr(['status', '--json', ...sd]);
    expect(st.json.connections).toEqual([]);
  });
});
