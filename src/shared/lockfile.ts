// A pid lock so only one daemon of a kind owns a state dir; a lock left by a dead process is taken over.
import { promises as fsp } from 'node:fs';
import { SmrError } from './errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws daemon-running; returns a release function. */
export async function acquireLock(file: string, what: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fsp.open(file, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await fsp.rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await fsp.readFile(file, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && alive(pid)) {
        throw new SmrError(
          'daemon-running',
          `a ${what} daemon (pid ${pid}) already uses this state dir`,
          'stop it first, or pass another --state-dir',
        );
      }
      await fsp.rm(file, { force: true });
    }
  }
  throw new SmrError('internal', `could not take the lock ${file}`);
}
