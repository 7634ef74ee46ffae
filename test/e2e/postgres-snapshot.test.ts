// Issue 12's first "done when": a PostgreSQL cluster owned by `postgres`, replicated, quiesced and
// snapshotted by the shipped templates (quiesce-and-snapshot.sh + snapshot-copy.sh), starts on
// the snapshot with pg_ctl as the postgres user, with no chown, and answers with its rows.
// Needs Debian's postgresql (scripts/install-system-deps.sh installs it) and root (runuser).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ROOT,
  SMR,
  cleanupAll,
  connect,
  onCleanup,
  startSource,
  startTarget,
  tmp,
  waitSynced,
} from '../helpers/harness.js';

afterEach(cleanupAll);

/** The newest installed /usr/lib/postgresql/VERSION/bin/pg_ctl, if any. */
function findPgCtl(): string | undefined {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base) : [];
  return versions
    .sort((a, b) => Number(a) - Number(b))
    .map((v) => path.join(base, v, 'bin', 'pg_ctl'))
    .filter((p) => existsSync(p))
    .pop();
}

const PG_CTL = findPgCtl();
const PG_BIN = PG_CTL ? path.dirname(PG_CTL) : '';
const ROWS = 500;

/** Runs a PostgreSQL program as the postgres user (never root: PostgreSQL refuses root). */
function asPostgres(prog: string, args: string[], input?: string): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, prog), ...args], {
    encoding: 'utf8',
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const psql = (port: number, sql: string): string =>
  asPostgres('psql', ['-h', '127.0.0.1', '-p', String(port), '-d', 'postgres', '-qAtX'], sql);

/** A shell command that starts the cluster in `data` on `port` and waits until it is up. */
function startCmd(data: string, port: number, logFile: string): string {
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  return `runuser -u postgres -- ${PG_CTL} -D ${data} -l ${logFile} -o "${opts}" -w start >/dev/null`;
}

function runScript(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('a PostgreSQL snapshot', () => {
  // Only where PostgreSQL is installed: .ci/run installs it (scripts/install-system-deps.sh).
  it.skipIf(!PG_CTL)(
    'starts as the postgres user with no chown, with its rows',
    async () => {
      const work = await tmp('smr-pg-');
      // postgres must reach the data directories through these (root's temp dirs are 0700).
      await fsp.chmod(work, 0o755);
      const src = path.join(work, 'src');
      const data = path.join(src, 'pgdata');
      const tasks = path.join(work, 'tasks');
      await fsp.mkdir(src);
      await fsp.mkdir(tasks);
      await fsp.mkdir(data, { mode: 0o700 });
      execFileSync('chown', ['postgres:postgres', data]);
      await fsp.copyFile(
        path.join(ROOT, 'templates', 'tasks', 'snapshot-copy.sh'),
        path.join(tasks, 'snapshot-copy.sh'),
      );
      await fsp.chmod(path.join(tasks, 'snapshot-copy.sh'), 0o755);
      const smrWrapper = path.join(work, 'smr');
      await fsp.writeFile(smrWrapper, `#!/bin/sh\nexec "${process.execPath}" "${SMR}" "$@"\n`, {
        mode: 0o755,
      });

      asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
      const port = await freePort();
      const logFile = path.join(work, 'pg.log');
      await fsp.writeFile(logFile, '');
      execFileSync('chown', ['postgres:postgres', logFile]);
      const stop = (dir: string): string =>
        `runuser -u postgres -- ${PG_CTL} -D ${dir} -m fast -w stop >/dev/null`;
      execFileSync('bash', ['-c', startCmd(data, port, logFile)]);
      onCleanup(async () => {
        if (existsSync(path.join(data, 'postmaster.pid')))
          await runScript(['-c', stop(data)]).catch(() => undefined);
      });
      psql(port, `CREATE TABLE t(id int PRIMARY KEY, v text);`);

      const workRoot = path.join(work, 'target');
      await fsp.mkdir(workRoot, { mode: 0o755 });
      const t = await startTarget({
        root: path.join(workRoot, 'r'),
        extra: ['--allow-tasks', '--tasks-dir', tasks],
      });
      const s = await startSource();
      // lz4: main's zstd decoder refuses some frames of database files (its size bound counts each
      // compressed block as 128 KiB, and the encoder splits blocks); the crash branch fixes that.
      await connect(s, 'pg', t, src, ['--compress', 'lz4']);
      await waitSynced(s, 'pg');
      // Written while replication runs: the rows arrive live, then the cluster is quiesced.
      psql(port, `INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, ${ROWS}) g;`);
      const r = await runScript([
        path.join(ROOT, 'templates', 'scripts', 'quiesce-and-snapshot.sh'),
        '--connection',
        'pg',
        '--smr',
        smrWrapper,
        '--state-dir',
        s.stateDir,
        '--stop-cmd',
        stop(data),
        '--start-cmd',
        startCmd(data, port, logFile),
        '--task',
        'snapshot-copy.sh',
        '--task-timeout',
        '2m',
      ]);
      expect(r.code, r.out).toBe(0);
      const snapshots = path.join(t.root, 'pg.snapshots');
      const names = (await fsp.readdir(snapshots)).filter((n) => !n.endsWith('.partial'));
      expect(names.length).toBe(1);
      const snapData = path.join(snapshots, names[0] as string, 'pgdata');

      // The snapshot as it is: owned by postgres, 0700, startable by postgres alone.
      const st = await fsp.stat(snapData);
      expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([
        Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
        Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
        0o700,
      ]);
      const snapPort = await freePort();
      const snapLog = path.join(work, 'snap.log');
      await fsp.writeFile(snapLog, '');
      execFileSync('chown', ['postgres:postgres', snapLog]);
      const started = await runScript(['-c', startCmd(snapData, snapPort, snapLog)]);
      expect(started.code, `${started.out}\n${await fsp.readFile(snapLog, 'utf8')}`).toBe(0);
      onCleanup(async () => void (await runScript(['-c', stop(snapData)])));
      expect(psql(snapPort, 'SELECT count(*), max(v) FROM t;').trim()).toBe(`${ROWS}|row 99`);
      expect((await runScript(['-c', stop(snapData)])).code).toBe(0);
      execFileSync('bash', ['-c', stop(data)]);
    },
    180_000,
  );
});
