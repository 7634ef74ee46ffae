// Preloaded into the smr daemons by `npm run bench -- latency --trace` (node --import): records
// timestamps of the few system calls that mark each stage of a replicated write, without touching
// smr's code. Written to $SMR_BENCH_TRACE.<pid>.trace at exit as lines "<ms> <kind> <detail>",
// where <ms> is performance.timeOrigin + performance.now() (comparable across processes).
//
//   watch  <path>     fs.watch callback (inotify event delivered to chokidar)      [source]
//   lstat  <path>     fs.promises.lstat: the capture pipeline checks a path          [source]
//   stat   <path>     fs.promises.stat (chokidar stats a file before its change event)  [source]
//   all <ev> <path>   chokidar emitted a semantic event (smr turns it into a hint)      [source]
//   writev <fd> <bytes> <ms>  fs.writevSync returned: a journal append, and its duration [source]
//   sync   <fd>       FileHandle.sync/datasync started / "synced" when it returned    [both]
//   send   <bytes>    socket write to the peer                                       [both]
//   recv   <bytes>    socket data from the peer                                      [both]
//   open   <path>     fs.promises.open                                               [both]
//   closed <fd>       FileHandle.close returned                                      [both]
//   hint <rel>        smr Capture#hint (a path may have changed)                     [source]
//   check <rel>       smr Capture#check started for a path                           [source]
//   gc <ms> <kind>    a garbage collection pause began (PerformanceObserver 'gc')       [both]
// Plus one "loopdelay" line: event-loop delay percentiles (ms) over the whole run.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';

const out = process.env.SMR_BENCH_TRACE;
if (out) {
  const lines = [];
  const now = () => performance.timeOrigin + performance.now();
  const rec = (kind, detail) => {
    if (lines.length < 2_000_000) lines.push(`${now().toFixed(3)} ${kind} ${detail}`);
  };
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // Garbage collections: "gc <duration ms> <kind>" at the time the pause began.
  const GC_KINDS = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      lines.push(
        `${(performance.timeOrigin + e.startTime).toFixed(3)} gc ${e.duration.toFixed(2)} ${GC_KINDS[e.detail?.kind] ?? e.detail?.kind}`,
      );
  }).observe({ entryTypes: ['gc'] });

  const origWatch = fs.watch;
  fs.watch = function watch(p, options, listener) {
    const wrap = (fn) =>
      typeof fn === 'function'
        ? function (event, name) {
            rec('watch', name ? `${p}/${name}` : String(p));
            return fn.apply(this, arguments);
          }
        : fn;
    if (typeof options === 'function') return origWatch.call(fs, p, wrap(options));
    return origWatch.call(fs, p, options, wrap(listener));
  };

  const origWritevSync = fs.writevSync;
  fs.writevSync = function writevSync(fd, ...rest) {
    const t = now();
    const r = origWritevSync.call(fs, fd, ...rest);
    // Recorded when it returned, with how long the synchronous call held the event loop.
    rec('writev', `${fd} ${r} ${(now() - t).toFixed(3)}`);
    return r;
  };

  const P = fs.promises;
  const origStat = P.stat;
  P.stat = function stat(p, ...rest) {
    rec('stat', String(p));
    return origStat.call(P, p, ...rest);
  };
  const origLstat = P.lstat;
  P.lstat = function lstat(p, ...rest) {
    rec('lstat', String(p));
    return origLstat.call(P, p, ...rest);
  };
  const origOpen = P.open;
  let patchedHandle = false;
  P.open = async function open(p, ...rest) {
    rec('open', String(p));
    const fh = await origOpen.call(P, p, ...rest);
    // FileHandle#close is an own property (a class field) in Node 20: wrap it per handle.
    const origClose = fh.close;
    const fd = fh.fd;
    fh.close = async function close() {
      const r = await origClose.call(fh);
      rec('closed', String(fd));
      return r;
    };
    if (!patchedHandle) {
      patchedHandle = true;
      const proto = Object.getPrototypeOf(fh);
      for (const m of ['sync', 'datasync']) {
        const orig = proto[m];
        proto[m] = async function () {
          const fd = this.fd;
          rec('sync', String(fd));
          const r = await orig.call(this);
          rec('synced', String(fd));
          return r;
        };
      }
    }
    return fh;
  };

  const origWrite = net.Socket.prototype.write;
  net.Socket.prototype.write = function write(chunk, ...rest) {
    if (this.remotePort) rec('send', `${chunk?.length ?? 0} ${this.remotePort}`);
    return origWrite.call(this, chunk, ...rest);
  };
  const origEmit = net.Socket.prototype.emit;
  net.Socket.prototype.emit = function emit(ev, arg, ...rest) {
    if (ev === 'data' && this.remotePort) rec('recv', `${arg?.length ?? 0} ${this.remotePort}`);
    return origEmit.call(this, ev, arg, ...rest);
  };

  // chokidar's semantic events ("all": add/change/unlink...), which smr turns into capture hints.
  const origEeEmit = EventEmitter.prototype.emit;
  EventEmitter.prototype.emit = function emit(ev, a, b, ...rest) {
    if (ev === 'all' && typeof b === 'string') rec('all', `${a} ${b}`);
    return origEeEmit.call(this, ev, a, b, ...rest);
  };

  syncBuiltinESMExports();

  // smr's own capture pipeline (internal names; skipped quietly if they change): every hint and the
  // start of every path check.
  try {
    const { Capture } = await import(new URL('../../dist/source/capture.js', import.meta.url).href);
    const proto = Capture?.prototype;
    if (proto && typeof proto.hint === 'function' && typeof proto.check === 'function') {
      const origHint = proto.hint;
      proto.hint = function hint(rel, ...rest) {
        rec('hint', String(rel));
        return origHint.call(this, rel, ...rest);
      };
      const origCheck = proto.check;
      proto.check = function check(rel, ...rest) {
        rec('check', String(rel));
        return origCheck.call(this, rel, ...rest);
      };
    }
  } catch {
    // not built, or a different layout: the rest of the trace still works
  }

  process.on('exit', () => {
    h.disable();
    const q = (p) => (h.percentile(p) / 1e6).toFixed(2);
    lines.push(
      `${now().toFixed(3)} loopdelay p50=${q(50)} p90=${q(90)} p99=${q(99)} max=${(h.max / 1e6).toFixed(2)}`,
    );
    lines.sort((a, b) => parseFloat(a) - parseFloat(b));
    fs.writeFileSync(`${out}.${process.pid}.trace`, lines.join('\n') + '\n');
  });
}
