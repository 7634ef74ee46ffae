// Every verb, in the order --help lists them.
import { connectVerb } from './connect.js';
import { demoVerb } from './demo.js';
import { disconnectVerb } from './disconnect.js';
import { initVerb } from './init.js';
import { keyVerb } from './key.js';
import { mirrorVerb } from './mirror.js';
import { sourceVerb } from './source.js';
import { statusVerb } from './status.js';
import { limitVerb, replicateVerb, transmitVerb } from './switches.js';
import { targetVerb } from './target.js';
import { queueTaskVerb, tasksVerb } from './tasks.js';
import { scheduleVerb } from './schedule.js';
import { templatesVerb } from './templates.js';
import { waitVerb } from './wait.js';
import { orphansVerb, verifyVerb } from './verify.js';
import type { Verb } from '../verb.js';

export const VERBS: Verb[] = [
  targetVerb,
  sourceVerb,
  connectVerb,
  disconnectVerb,
  statusVerb,
  replicateVerb,
  transmitVerb,
  limitVerb,
  mirrorVerb,
  verifyVerb,
  orphansVerb,
  waitVerb,
  queueTaskVerb,
  tasksVerb,
  scheduleVerb,
  templatesVerb,
  keyVerb,
  initVerb,
  demoVerb,
];
