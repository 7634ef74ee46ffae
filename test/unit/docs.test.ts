// The shipped reference and the fresh-machine step: docs/CLI.md and docs/CONFIG.md are what the
// code generates, the README links only files that ship, and install-system-deps.sh names what a
// machine lacks.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/harness.js';

describe('generated docs', () => {
  it('docs/CLI.md and docs/CONFIG.md are up to date (npm run docs)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/gen-docs.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the command reference covers every verb and its flags', () => {
    const cli = readFileSync(path.join(ROOT, 'docs/CLI.md'), 'utf8');
    for (const h of ['## smr connect', '## smr tasks', '## smr schedule', '## smr mirror'])
      expect(cli).toContain(h);
    for (const flag of ['--exclude-from', '--max-delete-percent', '--wait-timeout', '--bandwidth'])
      expect(cli).toContain(flag);
  });
});

describe('README', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

  it('links only files in the repository, and the command reference among them', () => {
    const links = [...readme.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1] as string);
    expect(links).toContain('docs/CLI.md');
    for (const l of links.filter((x) => !/^[a-z]+:/.test(x)))
      expect(existsSync(path.join(ROOT, l)), l).toBe(true);
    expect(readme).not.toContain('../shared');
  });

  it('names the one step a new machine needs before npm test', () => {
    expect(readme).toContain('sudo scripts/install-system-deps.sh');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      files: string[];
    };
    expect(pkg.scripts.test).toMatch(/^bash scripts\/install-system-deps\.sh --check && /);
    expect(readFileSync(path.join(ROOT, '.ci/run'), 'utf8')).toContain(
      'bash scripts/install-system-deps.sh',
    );
  });

  it('runs every file that takes a workload size from test/helpers/scale.ts under test:long', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const long = pkg.scripts['test:long'] ?? '';
    expect(long).toMatch(/SMR_LONG=1 vitest run /);
    expect(readme).toContain('npm run test:long');
    const e2e = path.join(ROOT, 'test', 'e2e');
    const sized = readdirSync(e2e).filter((f) =>
      readFileSync(path.join(e2e, f), 'utf8').includes("from '../helpers/scale.js'"),
    );
    expect(sized.length).toBeGreaterThan(0);
    for (const f of sized) expect(long.split(' '), f).toContain(`test/e2e/${f}`);
  });
});

describe('scripts/install-system-deps.sh', () => {
  const script = path.join(ROOT, 'scripts/install-system-deps.sh');

  it('passes --check on this machine', () => {
    const r = spawnSync('bash', [script, '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('names the missing packages and how to install them', async () => {
    // A PATH with node and the basics, but none of the programs the tests need.
    const bin = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-deps-'));
    for (const cmd of ['uname', 'apt-get'])
      if (existsSync(`/usr/bin/${cmd}`)) await fsp.symlink(`/usr/bin/${cmd}`, path.join(bin, cmd));
    await fsp.symlink(process.execPath, path.join(bin, 'node'));
    const r = spawnSync('/bin/bash', [script, '--check'], {
      encoding: 'utf8',
      env: { PATH: bin },
    });
    await fsp.rm(bin, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the tests need these packages: .*shellcheck/);
    expect(r.stderr).toMatch(/install-system-deps\.sh|brew install/);
  });
});
