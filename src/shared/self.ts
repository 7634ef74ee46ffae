// Where this smr installation's launcher is, for daemons that run smr verbs (scheduled jobs).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of bin/smr.js (this file is dist/shared/self.js). */
export const SMR_BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../bin/smr.js',
);
