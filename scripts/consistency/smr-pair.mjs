// One source and one target smr daemon on loopback for a consistency sample, and the moves the
// harness makes with them: connect, kill together with the application, let the target settle,
// freeze it.
import fs from 'node:fs';
import path from 'node:path';
import { SMR, delay, smr, startProcess } from '../bench/common.mjs';

/** Starts a target on 127.0.0.1:0; returns its process handle and port. */
export async function startTarget(dir, key, tag = 'target') {
  const t = startProcess(
    process.execPath,
    [
      SMR,
      'target',
      'start',
      '--listen',
      '127.0.0.1:0',
      '--root',
      path.join(dir, 'root'),
      '--key-file',
      key,
      '--state-dir',
      path.join(dir, 'tstate'),
    ],
    { logFile: path.join(dir, `${tag}.log`) },
  );
  const first = await t.waitForLine(/^\{/, { stream: 'out', what: 'listening event' });
  return { handle: t, port: JSON.parse(first.line).port };
}

/** Starts a source daemon and connects `app` (path `src`) to the target; waits until synced. */
export async function startSource(dir, key, port, src, connectExtra) {
  const s = startProcess(
    process.execPath,
    [SMR, 'source', 'start', '--state-dir', path.join(dir, 'sstate')],
    { logFile: path.join(dir, 'source.log') },
  );
  await s.waitForLine(/"event":"ready"/, { stream: 'out', what: 'ready event' });
  const state = ['--state-dir', path.join(dir, 'sstate')];
  try {
    await smr([
      'connect',
      'app',
      '--to',
      `127.0.0.1:${port}`,
      '--path',
      src,
      '--key-file',
      key,
      ...connectExtra,
      ...state,
      '--json',
    ]);
    await smr(['wait', 'app', '--timeout', '120s', ...state, '--json'], { timeoutMs: 130_000 });
    const st = await smr(['status', 'app', ...state, '--json']);
    return { handle: s, status: st.json };
  } catch (e) {
    s.proc.kill('SIGKILL');
    await s.exited;
    throw e;
  }
}

/**
 * Kills every pid at one instant, as a machine dying would: all are stopped first (SIGSTOP,
 * within microseconds of each other), then killed, so none runs on while another is already gone.
 */
export function dieTogether(pids) {
  const live = pids.filter(Boolean);
  for (const p of live) signal(p, 'SIGSTOP');
  for (const p of live) signal(p, 'SIGKILL');
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** A cheap picture of a tree: every entry's path, type, size and mtime. */
function picture(dir) {
  const out = [];
  const walk = (rel) => {
    let names;
    try {
      names = fs.readdirSync(path.join(dir, rel));
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const r = rel ? `${rel}/${n}` : n;
      let st;
      try {
        st = fs.lstatSync(path.join(dir, r), { bigint: true });
      } catch {
        continue;
      }
      out.push(`${r}:${st.mode}:${st.size}:${st.mtimeNs}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out.join('\n');
}

/**
 * Waits until the replica `dir` has not changed for `quietMs` (the target applied everything it
 * had received); returns how long that took. Throws after `maxMs`.
 */
export async function settle(dir, quietMs = 1500, maxMs = 120_000) {
  const t0 = Date.now();
  let last = picture(dir);
  let since = Date.now();
  while (Date.now() - t0 < maxMs) {
    await delay(200);
    const now = picture(dir);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return Date.now() - t0 - quietMs;
  }
  throw new Error(`the replica ${dir} kept changing for ${maxMs} ms after the source died`);
}
