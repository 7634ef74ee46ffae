// The PostgreSQL application of the consistency harness: a cluster (Debian's postgresql 15) run
// as the `postgres` user on a loopback port, written by a `psql` fed one transaction after another,
// and the checks run on a copy of a data directory (the source's after its death, or the
// replica's): start it with pg_ctl (crash recovery), pg_amcheck every heap and index, count the
// rows, stop it cleanly and pg_checksums --check every page.
//
// Transactions have the same shape as the SQLite application's (sqlite-app.mjs): whole
// transactions 1..m, each row tagged with its transaction and the transaction's row count, and a
// totals row. Every ~150 transactions the writer asks for a CHECKPOINT, and shared_buffers is
// small, so data files, WAL and pg_control all change during a run.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { descendants, freePort, waitForPort } from '../bench/common.mjs';

const PG_BIN = process.env.SMR_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const PG_USER = process.env.SMR_PG_USER ?? 'postgres';
const bin = (name) => path.join(PG_BIN, name);

/** Runs `cmd` as the PostgreSQL user (setpriv; we are root) and returns { code, out }. */
function asPg(cmd, args, timeoutMs = 120_000) {
  const r = spawnSync(
    'setpriv',
    [`--reuid=${PG_USER}`, `--regid=${PG_USER}`, '--init-groups', cmd, ...args],
    { encoding: 'utf8', timeout: timeoutMs },
  );
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ?? ''}` };
}

/** psql as the PostgreSQL user against 127.0.0.1:port; returns { code, out }. */
function psql(port, sql, timeoutMs = 60_000) {
  const r = spawnSync(
    bin('psql'),
    ['-h', '127.0.0.1', '-p', String(port), '-U', PG_USER, '-d', 'postgres', '-qAtX'],
    {
      input: sql,
      encoding: 'utf8',
      timeout: timeoutMs,
      env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
    },
  );
  return { code: r.status ?? -1, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ?? ''}` };
}

const CONF = `
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_buffers = 16MB
max_wal_size = 64MB
min_wal_size = 32MB
checkpoint_timeout = 30s
autovacuum_naptime = 5s
logging_collector = off
`;

const SCHEMA = `
CREATE TABLE t(id bigserial PRIMARY KEY, txn int NOT NULL, of int NOT NULL, k text NOT NULL, v text);
CREATE INDEX t_k ON t(k);
CREATE INDEX t_txn ON t(txn);
CREATE TABLE totals(id int PRIMARY KEY CHECK (id = 1), txns int NOT NULL, rows int NOT NULL);
INSERT INTO totals VALUES (1, 0, 0);
CREATE EXTENSION amcheck;
`;

/** Whether the PostgreSQL programs and user are here (a reason when not). */
export function pgMissing() {
  for (const p of ['initdb', 'postgres', 'pg_ctl', 'pg_amcheck', 'pg_checksums', 'psql'])
    if (!fs.existsSync(bin(p)))
      return `${bin(p)} not found (Debian: apt-get install postgresql-15)`;
  if (spawnSync('id', ['-u', PG_USER]).status !== 0) return `no user ${PG_USER}`;
  return null;
}

/** Starts `postgres` on `data` at a free loopback port; returns { proc, port }. */
async function startServer(data, logFile) {
  const port = await freePort();
  const log = fs.openSync(logFile, 'a');
  fs.chownSync(logFile, uid(), gid());
  const proc = spawn(
    'setpriv',
    [
      `--reuid=${PG_USER}`,
      `--regid=${PG_USER}`,
      '--init-groups',
      bin('postgres'),
      '-D',
      data,
      '-p',
      String(port),
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  await waitForPort('127.0.0.1', port, 60_000);
  // Accepting TCP is not accepting queries yet (startup or recovery may still run).
  for (let i = 0; i < 600; i++) {
    if (psql(port, 'SELECT 1;').code === 0) return { proc, port };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`postgres on ${data} did not accept queries`);
}

let ids = null;
function uid() {
  ids ??= {
    uid: Number(spawnSync('id', ['-u', PG_USER], { encoding: 'utf8' }).stdout),
    gid: Number(spawnSync('id', ['-g', PG_USER], { encoding: 'utf8' }).stdout),
  };
  return ids.uid;
}
function gid() {
  uid();
  return ids.gid;
}

/** The PostgreSQL application. */
export class PgApp {
  name = 'postgres';

  /** Builds a template cluster once (initdb, schema, clean stop) in `work`. */
  async prepare(work) {
    this.work = work;
    this.template = path.join(work, 'pg-template');
    fs.mkdirSync(this.template, { mode: 0o700 });
    fs.chownSync(this.template, uid(), gid());
    const init = asPg(bin('initdb'), [
      '-D',
      this.template,
      '-U',
      PG_USER,
      '--auth=trust',
      '--data-checksums',
      '-E',
      'UTF8',
      '--locale=C',
      '-N',
    ]);
    if (init.code !== 0) throw new Error(`initdb failed: ${init.out}`);
    fs.appendFileSync(path.join(this.template, 'postgresql.conf'), CONF);
    const s = await startServer(this.template, path.join(work, 'pg-template.log'));
    const r = psql(s.port, SCHEMA);
    if (r.code !== 0) throw new Error(`schema failed: ${r.err}`);
    await this.stopServer(this.template, s.proc);
  }

  async stopServer(data, proc) {
    const r = asPg(bin('pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    if (r.code !== 0 && proc) proc.kill('SIGKILL');
    if (proc && proc.exitCode === null && proc.signalCode === null)
      await new Promise((res) => proc.once('exit', res));
  }

  /** Copies the template cluster into `src/pgdata`. */
  async setup(src) {
    fs.chmodSync(src, 0o755);
    const r = spawnSync('cp', ['-a', this.template, path.join(src, 'pgdata')]);
    if (r.status !== 0) throw new Error(`copying the template failed: ${r.stderr}`);
  }

  /** Starts the cluster and the writer; returns { pids(), stats() } like SqliteApp.start. */
  async startAsync(src, rnd, logDir) {
    const data = path.join(src, 'pgdata');
    const server = await startServer(data, path.join(logDir, 'pg-source.log'));
    const p = spawn(
      bin('psql'),
      ['-h', '127.0.0.1', '-p', String(server.port), '-U', PG_USER, '-d', 'postgres', '-qAtX'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.stdin.on('error', () => undefined);
    let txn = 0;
    const feed = () => {
      while (p.stdin.writable) {
        txn++;
        const rows = 1 + Math.floor(rnd() * 20);
        const reps = 1 + Math.floor(rnd() * 45);
        let sql =
          `BEGIN;\nINSERT INTO t(txn, of, k, v) SELECT ${txn}, ${rows}, md5(random()::text), ` +
          `repeat(md5(random()::text), ${reps}) FROM generate_series(1, ${rows});\n` +
          `UPDATE t SET k = md5(random()::text), v = repeat(md5(random()::text), ${1 + Math.floor(rnd() * 20)}) ` +
          `WHERE id = (SELECT floor(random() * max(id))::bigint + 1 FROM t);\n` +
          `UPDATE totals SET txns = ${txn}, rows = rows + ${rows};\nCOMMIT;\n`;
        if (txn % 150 === 0) sql += 'CHECKPOINT;\n';
        if (!p.stdin.write(sql)) return p.stdin.once('drain', feed);
      }
    };
    feed();
    return {
      // The postmaster and every backend, checkpointer and writer below it die with the source.
      pids: () => [p.pid, server.proc.pid, ...descendants(server.proc.pid)],
      stats: () => ({ fed: txn, error: err.trim() || null }),
      exited: new Promise((r) => p.once('exit', (code, signal) => r({ code, signal }))),
    };
  }

  /** Starts a copy of a data directory in `dir` and judges it: { ok, reason, txns, rows }. */
  async check(dir, logDir, label) {
    const data = path.join(dir, 'pgdata');
    if (!fs.existsSync(path.join(data, 'PG_VERSION')))
      return { ok: false, reason: 'no data directory', txns: null };
    // A killed postmaster leaves its lock file; a copy on another machine would not honour it.
    fs.rmSync(path.join(data, 'postmaster.pid'), { force: true });
    // The judgement is about the bytes: today's target does not carry owners yet (every replica
    // file is root's), and postgres refuses a data directory it does not own.
    spawnSync('chown', ['-R', `${PG_USER}:`, data]);
    const logFile = path.join(logDir, `pg-${label}.log`);
    let server;
    try {
      server = await startServer(data, logFile);
    } catch (e) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
      const bad = log.split('\n').filter((l) => /PANIC|FATAL|ERROR/.test(l));
      return {
        ok: false,
        reason: `start failed: ${bad.slice(-2).join(' / ') || e.message}`,
        txns: null,
      };
    }
    try {
      const am = asPg(bin('pg_amcheck'), [
        '-h',
        '127.0.0.1',
        '-p',
        String(server.port),
        '-U',
        PG_USER,
        '-d',
        'postgres',
        '--heapallindexed',
        '--no-dependent-toast',
      ]);
      if (am.code !== 0)
        return {
          ok: false,
          reason: `pg_amcheck: ${am.out.trim().split('\n').slice(0, 2).join(' / ')}`,
          txns: null,
        };
      const q = psql(
        server.port,
        `SELECT 'rows', count(*), count(DISTINCT txn), coalesce(max(txn), 0) FROM t;
SELECT 'totals', txns, rows FROM totals;
SELECT 'partial', count(*) FROM (SELECT txn FROM t GROUP BY txn HAVING count(*) != max(of)) x;`,
      );
      if (q.code !== 0)
        return { ok: false, reason: `query: ${q.err.trim().split('\n')[0]}`, txns: null };
      const field = (n) =>
        q.out
          .split('\n')
          .find((l) => l.startsWith(`${n}|`))
          ?.split('|')
          .slice(1)
          .map(Number) ?? [];
      const [count, distinct, max] = field('rows');
      const [txns, rows] = field('totals');
      const [partial] = field('partial');
      const problems = [];
      if (distinct !== max) problems.push(`transactions 1..${max} but only ${distinct} present`);
      if (txns !== max) problems.push(`totals say ${txns} transactions, rows say ${max}`);
      if (rows !== count) problems.push(`totals say ${rows} rows, table has ${count}`);
      if (partial) problems.push(`${partial} transactions only partly present`);
      await this.stopServer(data, server.proc);
      server = null;
      // Recovery that met pages newer than its WAL says so in the log (e.g. "xlog flush request
      // ... is not satisfied") even when the server starts and the queries answer.
      const logged = fs.readFileSync(logFile, 'utf8').split('\n');
      const stopAt = logged.findIndex((l) => /received fast shutdown request/.test(l));
      const errors = logged.filter(
        (l, i) =>
          /\b(PANIC|ERROR|FATAL):/.test(l) &&
          // our own connection attempts while it starts up or shuts down
          !/the database system is (starting up|shutting down|not yet accepting)/.test(l) &&
          // a connection still open when our own fast shutdown ends it
          !(
            stopAt >= 0 &&
            i > stopAt &&
            /terminating connection due to administrator command/.test(l)
          ),
      );
      if (errors.length) problems.push(`server log: ${errors.slice(0, 2).join(' / ')}`);
      const sums = asPg(bin('pg_checksums'), ['--check', '-D', data]);
      if (sums.code !== 0)
        problems.push(`pg_checksums: ${sums.out.trim().split('\n').slice(0, 2).join(' / ')}`);
      return { ok: !problems.length, reason: problems.join('; ') || null, txns: max, rows: count };
    } finally {
      if (server) await this.stopServer(data, server.proc);
    }
  }
}
