// Flags are checked with config/values.ts's parsers, without zod; the schema builds its types from
// the same parsers. Both must give one message for one bad value. And a config search that meets a
// package.json without an `smr` key skips it without the full parser, while a broken one or one
// with smr settings still goes through it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { durationFlag, hostPortFlag, rateFlag, sizeFlag } from '../../../src/cli/options.js';
import { checkValue } from '../../../src/config/schema.js';
import { loadConfig } from '../../../src/config/config.js';
import { TEXT_PARSERS, textProblem, type TextKind } from '../../../src/config/values.js';
import { SmrError } from '../../../src/shared/errors.js';

const FLAGS = { duration: durationFlag, size: sizeFlag, rate: rateFlag, hostPort: hostPortFlag };
const CASES: Array<[TextKind, string]> = [
  ['duration', '90s'],
  ['duration', '1y'],
  ['duration', '30d'],
  ['duration', '12'],
  ['size', '10MiB'],
  ['size', 'lots'],
  ['rate', '5 parsecs'],
  ['rate', '10MiB/s'],
  ['hostPort', '[::1]:6320'],
  ['hostPort', 'a b:1'],
  ['hostPort', 'h:70000'],
];

describe('flag values without zod', () => {
  it('give the schema’s message for every kind, good and bad', () => {
    for (const [kind, text] of CASES) {
      const problem = textProblem(TEXT_PARSERS[kind], text);
      expect(problem, `${kind} ${text}`).toBe(checkValue(kind, text));
      const coerce = FLAGS[kind]('x', 'd').coerce as (v: unknown) => unknown;
      if (problem === null) expect(() => coerce(text)).not.toThrow();
      else expect(() => coerce(text)).toThrow(new SmrError('usage', `--x: ${problem}`));
    }
  });
});

function file(name: string, text: string): string {
  const p = path.join(mkdtempSync(path.join(os.tmpdir(), 'smr-values-')), name);
  writeFileSync(p, text);
  return p;
}

describe('package.json in a config search', () => {
  it('without an smr key: no settings', async () => {
    const p = file('package.json', '{"name":"x","scripts":{"a":"b"}}');
    expect((await loadConfig(p)).config).toEqual({});
  });

  it('with an smr key: read and checked, errors naming line and column', async () => {
    const good = file('package.json', '{"name":"x","smr":{"stateDir":"/tmp/s"}}');
    expect((await loadConfig(good)).config).toEqual({ stateDir: '/tmp/s' });
    const bad = file('package.json', '{"name":"x",\n "smr": {"stateDri": "/tmp/s"}}');
    await expect(loadConfig(bad)).rejects.toThrow(/package\.json:2:\d+: unknown setting/);
  });

  it('that is not JSON: a syntax error with its position, as before', async () => {
    const p = file('package.json', '{"name": "x",\n  "a": [1, }\n');
    await expect(loadConfig(p)).rejects.toThrow(/package\.json:\d+:\d+: syntax error/);
  });
});
