// The platform's default state folder.
import os from 'node:os';
import path from 'node:path';

/** Default state dir: XDG state home on Linux, Application Support on macOS, LOCALAPPDATA on Windows. */
export function defaultStateDir(): string {
  if (process.platform === 'win32')
    return path.join(
      process.env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'),
      'smr',
    );
  if (process.platform === 'darwin')
    return path.join(os.homedir(), 'Library', 'Application Support', 'smr');
  return path.join(process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'smr');
}
