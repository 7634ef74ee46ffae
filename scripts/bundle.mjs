// Bundles tsc's output (dist/) into dist/bundle/, the code bin/smr.js loads: a daemon's start
// and every CLI call resolved, opened and compiled ~214 ES modules one by one, 0.2 s of CPU
// per process on the 2-core test VM (`smr source start --help`: 0.93 → 0.72 s user+sys).
// esbuild (the well-kept bundler most TypeScript tools use; no config, one binary) rather than
// our own concatenation. Code splitting keeps the lazy imports lazy: a verb's code, the YAML
// parser and chokidar are still loaded only when needed. Packages stay external (native
// modules, and Node resolves them as before). dist/ keeps the per-module files for the tests
// and for profiles that name the file of each function (SMR_UNBUNDLED=1, bin/smr.js).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist', 'bundle');

// bin/smr.js installs the stop latch from dist/shared/stop-latch.js before anything else loads;
// the bundle must use that same module instance (its latched signal), not a copy of its own.
// Paths from dist/bundle/ reach it as from any other dist/<dir>/ file.
const sharedStopLatch = {
  name: 'shared-stop-latch',
  setup(b) {
    b.onResolve({ filter: /\/stop-latch\.js$/ }, () => ({
      path: '../shared/stop-latch.js',
      external: true,
    }));
  },
};

fs.rmSync(OUT, { recursive: true, force: true }); // no chunk of an older build stays
await build({
  entryPoints: { main: path.join(ROOT, 'dist', 'cli', 'main.js') },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  plugins: [sharedStopLatch],
  logLevel: 'warning',
});
