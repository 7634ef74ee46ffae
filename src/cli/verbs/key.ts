// `smr key generate [--out F]`: a new shared key, printed or written to a 0600 file.
import path from 'node:path';
import { generateKey, writeKeyFile } from '../../shared/key.js';
import type { Verb } from '../verb.js';

export const keyVerb: Verb = {
  command: 'key generate',
  describe: 'Create a new shared key for source and target',
  builder: (y) =>
    y.option('out', {
      type: 'string',
      describe: 'write the key to this file (mode 0600) instead of stdout',
    }),
  async run(args: { out?: string }) {
    const key = generateKey();
    if (!args.out) return { data: { key }, text: key, essential: true };
    const file = path.resolve(args.out);
    await writeKeyFile(file, key);
    return { data: { path: file }, text: `key written to ${file}` };
  },
};
