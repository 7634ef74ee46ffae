#!/usr/bin/env node
// Benchmark runner: `node scripts/bench.mjs <name> [options]` (or `npm run bench -- <name>`).
// Each benchmark is scripts/bench/<name>.mjs exporting `run(opts)` that returns a markdown
// section; the section replaces the <!-- bench:<name>:start/end --> block of bench/RESULTS.md
// (or of the section the module names in its result, `{ markdown, section }`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchError, RESULTS, machineFacts, machineLine, writeSection } from './bench/common.mjs';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench');

/** Benchmarks: the modules of scripts/bench/ that export `run` (helpers like common.mjs don't). */
function available() {
  return fs
    .readdirSync(DIR)
    .filter(
      (f) =>
        f.endsWith('.mjs') &&
        /^export (async )?function run\b/m.test(fs.readFileSync(path.join(DIR, f), 'utf8')),
    )
    .map((f) => f.slice(0, -4))
    .sort();
}

function usage() {
  return `usage: node scripts/bench.mjs <${available().join('|')}> [options]

common options:
  --no-write        print the section, do not update bench/RESULTS.md
  --keep            keep the scratch directory under bench/work
  --nice=N          run the bench and everything it starts at this scheduling priority (e.g. -10,
                    needs root) so other programs on a shared machine disturb the timings less
  --help            this text (and the benchmark's own options: <name> --help)
`;
}

async function main(argv) {
  const name = argv[0];
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (!available().includes(name)) {
    process.stderr.write(`unknown benchmark "${name}"\n${usage()}`);
    return 2;
  }
  const mod = await import(pathToFileURL(path.join(DIR, `${name}.mjs`)).href);
  const { values } = parseArgs({
    args: argv.slice(1),
    options: {
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      nice: { type: 'string' },
      help: { type: 'boolean', default: false },
      ...(mod.options ?? {}),
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(mod.help ?? usage());
    return 0;
  }
  if (values.nice !== undefined) {
    const n = Number(values.nice);
    if (!Number.isInteger(n) || n < -20 || n > 19) throw new BenchError('--nice must be -20..19');
    // Children inherit the nice value: every daemon under test runs at the same priority.
    os.setPriority(n);
  }
  const machine = machineFacts();
  const startedAt = new Date();
  const result = await mod.run({ ...values, machine, startedAt });
  const body = typeof result === 'string' ? result : result.markdown;
  const stamp =
    `_Run ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} on ${machine.host}: ` +
    `${machineLine(machine)}` +
    `${values.nice !== undefined ? `; bench and daemons at nice ${values.nice}` : ''}._`;
  const section = body.replace('{{stamp}}', stamp);
  process.stdout.write(`${section}\n`);
  // A module may file its result under another section (e.g. a diagnostic variant of a run).
  const sectionName = (typeof result === 'object' && result.section) || name;
  if (!values['no-write']) {
    writeSection(sectionName, section);
    process.stderr.write(
      `updated ${path.relative(process.cwd(), RESULTS)} (section "${sectionName}")\n`,
    );
  }
  return typeof result === 'object' && result.exitCode ? result.exitCode : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof BenchError) process.stderr.write(`bench: ${err.message}\n`);
    else process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
