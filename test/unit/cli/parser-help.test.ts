// A verb run through the parser does not render its help text (parser.ts, skipHelpCache): yargs
// rendered it after starting every handler, 40-70 ms of CPU per CLI call and daemon start. Help
// asked for is still printed whole (test/e2e's --help and usage-error cases).
import { describe, expect, it } from 'vitest';
import { buildParser } from '../../../src/cli/parser.js';

type Usage = { hasCachedHelpMessage: () => boolean };
const usageOf = (y: unknown): Usage =>
  (y as { getInternalMethods: () => { getUsageInstance: () => Usage } })
    .getInternalMethods()
    .getUsageInstance();

describe('the parser', () => {
  it('runs a verb without rendering its help', async () => {
    let ran = false;
    const y = await buildParser(
      ['status'],
      async () => {
        ran = true;
      },
      () => undefined,
    );
    await y.parseAsync();
    expect(ran).toBe(true);
    expect(usageOf(y).hasCachedHelpMessage()).toBe(false);
  });
});
