// The target's listing of its replica: fifos, sockets and devices only when the peer asked for
// them (an older source does not know their letters), devices with their number. Runs as root
// (CI does): mknod of a device needs it.
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListEntry } from '../../../src/protocol/listing.js';
import { listTree } from '../../../src/target/listing.js';

let dir = '';
afterEach(async () => {
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

async function list(base: string, specials: boolean): Promise<Map<string, ListEntry>> {
  const out = new Map<string, ListEntry>();
  await listTree(
    base,
    async (items) => {
      for (const e of items) out.set(e.path, e);
    },
    specials,
  );
  return out;
}

describe('listTree', () => {
  it('lists special entries only when asked, a device with [major, minor]', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-list-'));
    await fsp.writeFile(path.join(dir, 'f'), 'x');
    execFileSync('mkfifo', ['-m', '0640', path.join(dir, 'p')]);
    execFileSync('mknod', ['-m', '0620', path.join(dir, 'c'), 'c', '1', '3']);
    expect([...(await list(dir, false)).keys()]).toEqual(['f']);
    const all = await list(dir, true);
    expect(all.get('p')).toMatchObject({ type: 'fifo', size: 0, mode: 0o640 });
    expect(all.get('p')?.rdev).toBeUndefined();
    expect(all.get('p')?.attrs).toMatch(/^0:0:\d+:/);
    expect(all.get('c')).toMatchObject({ type: 'char', mode: 0o620, rdev: [1, 3] });
  });
});
