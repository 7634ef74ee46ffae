// A daemon's state dir is its owner's alone: 0700 whatever the umask, never a directory another
// user owns (they could read the queue, or plant and swap files in it, the control socket too).
import { promises as fsp } from 'node:fs';
import { SmrError } from './errors.js';
import { log } from './log.js';

/** Creates `dir` (and missing parents) 0700, or checks and tightens an existing one. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return;
  const st = await fsp.stat(dir);
  const uid = process.geteuid?.() ?? st.uid;
  if (st.uid !== uid) {
    throw new SmrError(
      'permission',
      `permission denied: state dir ${dir} belongs to uid ${st.uid}, not to this user (uid ${uid})`,
      'use a state dir of your own (--state-dir)',
    );
  }
  const mode = st.mode & 0o777;
  if (mode !== 0o700) {
    // Created by hand (mkdir: 0755) or before smr made it private: only the owner may enter.
    await fsp.chmod(dir, 0o700);
    log.info(`state dir ${dir} had mode ${mode.toString(8)}; now 700 (owner only)`);
  }
}
