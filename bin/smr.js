#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
// A daemon catches SIGINT/SIGTERM before the rest of smr is loaded, so a stop request at any
// moment of start-up ends in a clean stop (exit 0) rather than death by the signal.
import { installStopLatch, isDaemonStart } from '../dist/shared/stop-latch.js';

const argv = process.argv.slice(2);
if (isDaemonStart(argv)) installStopLatch();
const { main } = await import('../dist/cli/main.js');

main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`smr: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
