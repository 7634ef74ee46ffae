// Finding and validating smr's config file (cosmiconfig: .smrrc, .smrrc.json, smr.config.js, ...,
// or --config FILE). Returns data or throws SmrError; never prints.
import { cosmiconfig } from 'cosmiconfig';
import { SmrError, asSmrError } from '../shared/errors.js';

/** Settings a config file may hold; flags and environment override them. */
export interface SmrConfig {
  stateDir?: string;
  keyFile?: string;
  target?: { listen?: string; root?: string; tasksDir?: string; allowTasks?: boolean };
}

const KNOWN_TOP = new Set(['stateDir', 'keyFile', 'target']);

/** Loads the config named by --config, or searches for one from the current directory up. */
export async function loadConfig(
  file?: string,
): Promise<{ config: SmrConfig; filepath: string | null }> {
  const explorer = cosmiconfig('smr', { searchStrategy: 'global' });
  let res;
  try {
    res = file ? await explorer.load(file) : await explorer.search();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EPERM') throw asSmrError(err);
    const what = file ? `cannot read config ${file}` : 'cannot search for a config file';
    throw new SmrError('config', `${what}: ${e.message.split('\n')[0]}`);
  }
  if (!res || res.isEmpty) return { config: {}, filepath: res?.filepath ?? null };
  return { config: validate(res.config, res.filepath), filepath: res.filepath };
}

function validate(c: unknown, where: string): SmrConfig {
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    throw new SmrError('config', `${where}: the config must be an object`);
  const o = c as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KNOWN_TOP.has(k))
      throw new SmrError(
        'config',
        `${where}: unknown setting "${k}"`,
        `known settings: ${[...KNOWN_TOP].join(', ')}`,
      );
  }
  for (const k of ['stateDir', 'keyFile'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string')
      throw new SmrError('config', `${where}: "${k}" must be a string`);
  }
  if (o.target !== undefined) validateTarget(o.target, where);
  return o as SmrConfig;
}

const TARGET_TYPES: Record<string, 'string' | 'boolean'> = {
  listen: 'string',
  root: 'string',
  tasksDir: 'string',
  allowTasks: 'boolean',
};

// Nested keys are checked as strictly as top-level ones: a string "false" or YAML `no` read
// loosely as truthy once turned task execution on, and a typo was silently ignored.
function validateTarget(t: unknown, where: string): void {
  if (typeof t !== 'object' || t === null || Array.isArray(t))
    throw new SmrError('config', `${where}: "target" must be an object`);
  for (const [k, v] of Object.entries(t)) {
    const want = TARGET_TYPES[k];
    if (!want)
      throw new SmrError(
        'config',
        `${where}: unknown setting "target.${k}"`,
        `known target settings: ${Object.keys(TARGET_TYPES).join(', ')}`,
      );
    if (v !== undefined && typeof v !== want)
      throw new SmrError(
        'config',
        `${where}: "target.${k}" must be a ${want}, not ${JSON.stringify(v)}`,
        want === 'boolean' ? 'write true or false, unquoted' : undefined,
      );
  }
}

/** The commented config `smr init` writes. */
export const SAMPLE_CONFIG = `# smr configuration (YAML). Flags and SMR_STATE_DIR override these settings.
# Where daemons keep queues and state, and where verbs find the daemon to talk to.
# stateDir: /var/lib/smr
# The shared key file (create with: smr key generate --out /etc/smr/key).
# keyFile: /etc/smr/key
# Target daemon defaults.
# target:
#   listen: 0.0.0.0:6320
#   root: /srv/replica
#   tasksDir: /etc/smr/tasks
#   allowTasks: false
`;
