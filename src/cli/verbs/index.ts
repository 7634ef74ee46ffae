// Every verb, in the order --help lists them, loaded on demand: a script calling `smr status`
// should not pay for loading the daemons, the watcher and the scheduler (measured: every verb
// loaded 0.34 s, node alone 0.06 s, one verb ~0.2 s).
import type { Verb } from '../verb.js';

type Loader = () => Promise<Verb[]>;

// Verb name -> the module that defines it (some modules define several).
const LOADERS: Array<[string[], Loader]> = [
  [['target'], async () => [(await import('./target.js')).targetVerb]],
  [['source'], async () => [(await import('./source.js')).sourceVerb]],
  [['connect'], async () => [(await import('./connect.js')).connectVerb]],
  [['disconnect'], async () => [(await import('./disconnect.js')).disconnectVerb]],
  [['status'], async () => [(await import('./status.js')).statusVerb]],
  [
    ['replicate', 'transmit', 'limit'],
    async () => {
      const m = await import('./switches.js');
      return [m.replicateVerb, m.transmitVerb, m.limitVerb];
    },
  ],
  [['mirror'], async () => [(await import('./mirror.js')).mirrorVerb]],
  [
    ['verify', 'orphans'],
    async () => {
      const m = await import('./verify.js');
      return [m.verifyVerb, m.orphansVerb];
    },
  ],
  [['wait'], async () => [(await import('./wait.js')).waitVerb]],
  [['restore'], async () => [(await import('./restore.js')).restoreVerb]],
  [
    ['queue-task', 'tasks'],
    async () => {
      const m = await import('./tasks.js');
      return [m.queueTaskVerb, m.tasksVerb];
    },
  ],
  [['schedule'], async () => [(await import('./schedule.js')).scheduleVerb]],
  [['templates'], async () => [(await import('./templates.js')).templatesVerb]],
  [['key'], async () => [(await import('./key.js')).keyVerb]],
  [['init'], async () => [(await import('./init.js')).initVerb]],
  [['demo'], async () => [(await import('./demo.js')).demoVerb]],
];

/** Every verb's name. */
export const VERB_NAMES: readonly string[] = LOADERS.flatMap(([names]) => names);

/** Global options that take a value (their value is not the verb). */
const VALUE_OPTIONS = new Set(['--state-dir', '--config']);

/** The verb `argv` names, if it names a known one before anything else. */
function verbOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') return undefined;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * The verbs to register for `argv`: only the one it names, or all of them (no verb, an unknown
 * one, or the completion script, which lists them all).
 */
export async function verbsFor(argv: string[]): Promise<Verb[]> {
  const name = verbOf(argv);
  const one = LOADERS.find(([names]) => name !== undefined && names.includes(name));
  if (one) return (await one[1]()).filter((v) => verbName(v) === name);
  return (await Promise.all(LOADERS.map(([, load]) => load()))).flat();
}

function verbName(v: Verb): string {
  return String(v.command).split(' ')[0] as string;
}
