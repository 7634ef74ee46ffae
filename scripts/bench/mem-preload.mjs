// Preloaded into the smr daemons by `npm run bench -- sustained --mem` (node --import, through
// NODE_OPTIONS): samples process.memoryUsage() once a second, so a run says where the RSS went
// (JS heap in use, heap reserved, Buffers outside the heap) without touching smr's code. Written
// to $SMR_BENCH_MEM.<role>.<pid>.jsonl as one JSON object a line:
//   {"t": ms since epoch, "rss", "heapTotal", "heapUsed", "external", "arrayBuffers"} (bytes).
// Only `smr source start` and `smr target start` are sampled (the CLI calls load it too).
import fs from 'node:fs';

const out = process.env.SMR_BENCH_MEM;
const args = process.argv.slice(2);
const at = args.indexOf('start');
const role = at > 0 ? args[at - 1] : null;
if (out && (role === 'source' || role === 'target')) {
  const file = `${out}.${role}.${process.pid}.jsonl`;
  const sample = () => {
    const m = process.memoryUsage();
    const line = {
      t: Date.now(),
      rss: m.rss,
      heapTotal: m.heapTotal,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    };
    fs.appendFileSync(file, JSON.stringify(line) + '\n');
  };
  setInterval(sample, 1000).unref();
  sample();
}
