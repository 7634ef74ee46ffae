// A scratch replica root and its confiner for a target unit test, removed after each test: the
// set-up four test files wrote out alike.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { Confiner } from '../../src/target/confine.js';
import { ModePolicy } from '../../src/target/mode-policy.js';

/** Registers the clean-up, and returns what makes a fresh replica named after `prefix`. */
export function scratchReplicas(prefix: string): () => { base: string; cf: Confiner } {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const base = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    dirs.push(base);
    return { base, cf: new Confiner(base, new ModePolicy(false)) };
  };
}
