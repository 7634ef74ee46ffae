// `node scripts/bench/syscall-probe.mjs TREE`: what a system call costs on this machine, for the
// scale bench's commentary (a no-change restart is an lstat per entry; its floor is their cost).
// Prints {"bareUs", "fstatatUs", "names"}: a bare getppid(2), and fstatat(2) of names relative to
// their directory's descriptor as the restart's listers call it (through koffi, the same plan),
// over up to 100,000 names of TREE, read twice (the second pass, warm, is the one reported).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fstatatPlan } from '../../dist/shared/fstatat-plan.js';

const tree = process.argv[2];
const plan = fstatatPlan();
if (!plan) {
  process.stdout.write(`${JSON.stringify({ error: 'no fstatat plan on this platform' })}\n`);
  process.exit(0);
}
const koffi = (await import(plan.koffi)).default;
const lib = koffi.load(null);
const getppid = lib.func('int getppid()');
const open = lib.func(plan.open);
const close = lib.func(plan.close);
const fstatat = lib.func(plan.fstatatText);

const N = 200_000;
let t = performance.now();
for (let i = 0; i < N; i++) getppid();
const bareUs = ((performance.now() - t) * 1000) / N;

// Directories of the tree, breadth first, until 100,000 names are held.
const dirs = [];
const todo = [tree];
let names = 0;
while (todo.length && names < 100_000) {
  const d = todo.shift();
  const ents = fs.readdirSync(d, { withFileTypes: true });
  dirs.push([d, ents.map((e) => e.name)]);
  names += ents.length;
  for (const e of ents) if (e.isDirectory()) todo.push(path.join(d, e.name));
}
const buf = Buffer.alloc(plan.size);
let fstatatUs = 0;
for (let pass = 0; pass < 2; pass++) {
  t = performance.now();
  for (const [d, list] of dirs) {
    const fd = open(Buffer.from(`${d}\0`), plan.dirFlags);
    if (fd < 0) continue;
    for (const n of list) fstatat(fd, n, buf, plan.nofollow);
    close(fd);
  }
  fstatatUs = ((performance.now() - t) * 1000) / names;
}
process.stdout.write(`${JSON.stringify({ bareUs, fstatatUs, names })}\n`);
