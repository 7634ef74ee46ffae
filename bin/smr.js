#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script),
// bundled into dist/bundle/ (scripts/bundle.mjs); SMR_UNBUNDLED=1 runs tsc's per-module files
// instead (the same code: profiles then name each function's own file).
// A daemon catches SIGINT/SIGTERM before the rest of smr is loaded, so a stop request at any
// moment of start-up ends in a clean stop (exit 0) rather than death by the signal.
import { installStopLatch, isDaemonStart } from '../dist/shared/stop-latch.js';

const argv = process.argv.slice(2);
if (isDaemonStart(argv)) installStopLatch();
const { main } = await (process.env.SMR_UNBUNDLED === '1'
  ? import('../dist/cli/main.js')
  : import('../dist/bundle/main.js'));

main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`smr: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
