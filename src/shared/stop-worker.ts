// Ends a worker thread that loaded a native module (koffi) at a safe point. terminate() while such
// a worker was still loading koffi aborted the whole process (node-addon-api's FATAL "napi_throw";
// 2 runs in 5 of stat-pool.test.ts). The worker's code takes a null message as "stop": it closes
// its port once what it was asked is answered, and its event loop runs dry.
import type { Worker } from 'node:worker_threads';

/** Asks `w` to stop (its code handles the null message), and no longer waits for it. */
export function stopWorker(w: Worker): void {
  w.postMessage(null);
  w.unref();
}
