// `smr init`: write a commented config file.
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { SmrError } from '../../shared/errors.js';
import { sampleConfig } from '../../config/sample.js';
import type { Verb } from '../verb.js';

export const initVerb: Verb = {
  schedulable: false,
  command: 'init',
  describe: 'Write a commented config file (.smrrc.yaml)',
  builder: (y) =>
    y.option('out', { type: 'string', default: '.smrrc.yaml', describe: 'file to write' }),
  async run(a: { out: string }) {
    const file = path.resolve(a.out);
    try {
      await fsp.writeFile(file, sampleConfig(), { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new SmrError('usage', `${file} already exists`, 'edit it, or pass --out elsewhere');
      throw err;
    }
    return { data: { path: file }, text: `wrote ${file}` };
  },
};
