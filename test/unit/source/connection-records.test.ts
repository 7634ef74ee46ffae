// loadConnections imports the schema only when a record exists (a fresh source's start does not
// load zod): a record is still checked, and a bad one refused naming its file and key.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConnections } from '../../../src/source/connection-config.js';
import { CONNECTION_RECORD } from '../../helpers/records.js';

const REC = CONNECTION_RECORD;

function stateWith(records: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smr-records-'));
  for (const [name, rec] of Object.entries(records)) {
    mkdirSync(path.join(dir, 'connections', name), { recursive: true });
    writeFileSync(path.join(dir, 'connections', name, 'connection.json'), JSON.stringify(rec));
  }
  return dir;
}

describe('loadConnections', () => {
  it('no state yet: no records', async () => {
    expect(await loadConnections(path.join(os.tmpdir(), 'smr-records-none'))).toEqual([]);
  });

  it('loads good records and refuses a bad one, naming its file and key', async () => {
    const good = await loadConnections(stateWith({ web: REC, app: { ...REC, name: 'app' } }));
    expect(good.map((c) => c.name)).toEqual(['app', 'web']);
    const bad = stateWith({ web: { ...REC, replicate: 'yes' } });
    await expect(loadConnections(bad)).rejects.toThrow(
      /connection record .*web[/\\]connection\.json.*"replicate"/,
    );
  });
});
