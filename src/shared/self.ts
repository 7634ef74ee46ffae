// Where this smr installation is: its launcher, for daemons that run smr verbs (scheduled jobs),
// and the files it ships (templates). Reckoned from this file alone, the one depth below the
// root it has both as tsc's dist/shared/self.js and in the bundle's dist/bundle/*.js (and as
// src/shared/self.ts under the tests): a module elsewhere would count its own depth wrongly
// once bundled.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installation's root: bin/, dist/, templates/, package.json. */
export const INSTALL_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Absolute path of bin/smr.js. */
export const SMR_BIN = path.join(INSTALL_ROOT, 'bin', 'smr.js');
