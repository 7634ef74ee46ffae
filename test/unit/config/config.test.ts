import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/config.js';
import { SmrError } from '../../../src/shared/errors.js';

function file(name: string, text: string): string {
  const p = path.join(mkdtempSync(path.join(os.tmpdir(), 'smr-config-')), name);
  writeFileSync(p, text);
  return p;
}

async function errorOf(p: string): Promise<SmrError> {
  const err = await loadConfig(p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SmrError);
  return err as SmrError;
}

describe('config validation of nested keys', () => {
  it('refuses a non-boolean allowTasks, in YAML and JSON, naming the file and key', async () => {
    const cases: Array<[string, string]> = [
      ['smr.yaml', 'target:\n  allowTasks: "no"\n'],
      ['smr.json', '{"target":{"allowTasks":"false"}}'],
    ];
    for (const [name, text] of cases) {
      const p = file(name, text);
      const err = await errorOf(p);
      expect(err.code).toBe('config');
      expect(err.message).toContain(p);
      expect(err.message).toContain('target.allowTasks');
    }
  });

  it('refuses a wrongly typed target.root and an unknown target key', async () => {
    expect((await errorOf(file('a.json', '{"target":{"root":42}}'))).message).toContain(
      'target.root',
    );
    expect((await errorOf(file('b.json', '{"target":{"lisen":"0.0.0.0:1"}}'))).message).toContain(
      'unknown setting "target.lisen"',
    );
  });

  it('accepts a well-typed target section', async () => {
    const p = file('c.json', '{"target":{"allowTasks":false,"root":"/srv/r","listen":"h:1"}}');
    const { config } = await loadConfig(p);
    expect(config.target?.allowTasks).toBe(false);
  });
});
