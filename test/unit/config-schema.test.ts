// The config schema: types are strict, unknown keys get a "did you mean", and every error names
// the file, the key path and the line and column; `smr init`'s sample is generated from it.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { configReference, sampleConfig } from '../../src/config/sample.js';
import {
  check,
  checkValue,
  configSchema,
  connectionRecordSchema,
} from '../../src/config/schema.js';
import { closest } from '../../src/config/suggest.js';
import { SmrError } from '../../src/shared/errors.js';
import { CONNECTION_RECORD } from '../helpers/records.js';

function file(name: string, text: string): string {
  const p = path.join(mkdtempSync(path.join(os.tmpdir(), 'smr-config-')), name);
  writeFileSync(p, text);
  return p;
}

async function messageOf(p: string): Promise<string> {
  const err = await loadConfig(p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SmrError);
  expect((err as SmrError).code).toBe('config');
  return (err as SmrError).message + '; ' + ((err as SmrError).hint ?? '');
}

describe('config file errors name file, key path, line and column', () => {
  it('a YAML `no` is not a boolean', async () => {
    const p = file('smr.yaml', 'stateDir: /tmp/x\ntarget:\n  allowTasks: no\n');
    expect(await messageOf(p)).toContain(
      `${p}:3:15: "target.allowTasks" must be true or false, unquoted, not "no"`,
    );
  });

  it('a JSON string "false" is not a boolean either', async () => {
    const p = file('smr.json', '{\n  "target": {\n    "allowTasks": "false"\n  }\n}\n');
    expect(await messageOf(p)).toContain(`${p}:3:19: "target.allowTasks" must be true or false`);
  });

  it('a number where a path belongs', async () => {
    const p = file('c.json', '{"target":{"root":42}}');
    expect(await messageOf(p)).toContain(`${p}:1:19: "target.root" must be a string, not 42`);
  });

  it('unknown keys, nested or not, are refused with a suggestion', async () => {
    const p = file('t.yaml', 'target:\n  lisen: 0.0.0.0:1\n');
    expect(await messageOf(p)).toContain(
      `${p}:2:3: unknown setting "target.lisen"; did you mean "target.listen"?`,
    );
    const q = file('u.yaml', 'statedir: /x\n');
    expect(await messageOf(q)).toContain(`unknown setting "statedir"; did you mean "stateDir"?`);
    const r = file('v.yaml', 'colour: blue\n');
    expect(await messageOf(r)).toMatch(/unknown setting "colour"; known here: stateDir, keyFile/);
  });

  it('a section that is not a section', async () => {
    const p = file('w.yaml', 'target: yes\n');
    expect(await messageOf(p)).toContain(`${p}:1:9: "target" must be a section of settings`);
  });

  it('a bad address in target.listen', async () => {
    const p = file('x.yaml', 'target:\n  listen: "host:99999"\n');
    expect(await messageOf(p)).toMatch(/x\.yaml:2:11: "target\.listen" bad port in "host:99999"/);
  });

  it('JSON and YAML syntax errors keep their line and column', async () => {
    const j = file('bad.json', '{\n  "stateDir": "/x",\n  "target": {"root": "/r",,}\n}\n');
    expect(await messageOf(j)).toMatch(new RegExp(`^${j}:3:\\d+: syntax error`));
    const y = file('bad.yaml', 'stateDir: /x\ntarget:\n  root: [1,\n');
    expect(await messageOf(y)).toMatch(new RegExp(`^${y}:\\d+:\\d+: syntax error`));
    const d = file('dup.yaml', 'stateDir: /x\nstateDir: /y\n');
    expect(await messageOf(d)).toMatch(new RegExp(`^${d}:2:1: syntax error: .*unique`));
  });

  it('accepts a well-typed file, and settings under "smr" in package.json', async () => {
    const p = file('ok.yaml', 'target:\n  allowTasks: false\n  root: /srv/r\n  listen: h:1\n');
    expect((await loadConfig(p)).config.target?.allowTasks).toBe(false);
    const pkg = file('package.json', '{"name":"x","smr":{"target":{"lisen":"h:1"}}}');
    expect(await messageOf(pkg)).toContain(`${pkg}:1:30: unknown setting "target.lisen"`);
  });
});

describe('the generated sample and reference', () => {
  it('names every setting, and validates once uncommented', () => {
    const text = sampleConfig();
    const uncommented = text
      .split('\n')
      .filter((l) => /^# +[A-Za-z]+:/.test(l))
      .map((l) => l.slice(2))
      .join('\n');
    const value = parseYaml(uncommented) as unknown;
    const r = check(configSchema, value);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    expect(value).toMatchObject({
      stateDir: expect.any(String),
      keyFile: expect.any(String),
      source: { tasksDir: expect.any(String) },
      target: { listen: '0.0.0.0:6320', root: expect.any(String), allowTasks: false },
    });
    for (const k of ['stateDir', 'keyFile', 'target.allowTasks', 'source.tasksDir'])
      expect(configReference()).toContain(`\`${k}\``);
  });
});

describe('value types shared with flags and connection records', () => {
  it('checks durations, sizes, rates and addresses', () => {
    expect(checkValue('duration', '90s')).toBeNull();
    expect(checkValue('duration', '1y')).toMatch(/bad duration "1y"/);
    expect(checkValue('duration', '30d')).toMatch(/too long/);
    expect(checkValue('size', '10MiB')).toBeNull();
    expect(checkValue('rate', '5 parsecs')).toMatch(/bad rate/);
    expect(checkValue('hostPort', '[::1]:6320')).toBeNull();
    expect(checkValue('hostPort', 'a b:1')).toMatch(/bad address/);
  });

  it('keeps unknown keys of a connection record but checks known ones', () => {
    const rec = { ...CONNECTION_RECORD, addedByANewerVersion: 1 };
    expect(check(connectionRecordSchema, rec).ok).toBe(true);
    const bad = check(connectionRecordSchema, { ...rec, replicate: 'yes' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues[0]?.path).toEqual(['replicate']);
  });

  it('suggests only close words', () => {
    expect(closest('lisen', ['listen', 'root'])).toBe('listen');
    expect(closest('zzzzzz', ['listen', 'root'])).toBeUndefined();
  });
});
