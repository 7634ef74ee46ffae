// `smr connect NAME --to HOST:PORT --path DIR ...`: record a connection in the running source.
import path from 'node:path';
import { source } from '../daemon-call.js';
import { statusLines } from '../render-status.js';
import type { ConnectionStatus } from '../../source/connection.js';
import type { Verb } from '../verb.js';

export const connectVerb: Verb = {
  command: 'connect <name>',
  describe: 'Start replicating a directory to a target',
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'connection name' })
      .option('to', { type: 'string', demandOption: true, describe: 'target HOST:PORT' })
      .option('path', { type: 'string', demandOption: true, describe: 'source directory' })
      .option('target-path', {
        type: 'string',
        describe: 'replica path under the target root (default: NAME)',
      })
      .option('include', {
        type: 'string',
        array: true,
        describe: 'glob of files to replicate (repeatable)',
      })
      .option('exclude', {
        type: 'string',
        array: true,
        describe: 'glob of paths to leave out (repeatable)',
      })
      .option('mirror', {
        choices: ['full', 'diff', 'checksum', 'none'] as const,
        default: 'diff',
        describe: 'initial mirror',
      })
      .option('replicate', {
        type: 'boolean',
        default: true,
        describe: 'capture changes (--no-replicate to mirror only)',
      })
      .option('key-file', { type: 'string', describe: 'shared key file' })
      .option('watcher', {
        choices: ['native', 'chokidar'] as const,
        default: 'native',
        describe:
          'file watcher: native (a kernel watch per directory; chokidar where unavailable) or chokidar',
      }),
  async run(
    a: {
      name: string;
      to: string;
      path: string;
      targetPath?: string;
      include?: string[];
      exclude?: string[];
      mirror: string;
      replicate: boolean;
      keyFile?: string;
      watcher: string;
    },
    ctx,
  ) {
    const keyFile = a.keyFile ?? ctx.config.keyFile;
    const s = (await source(ctx, 'connect', {
      name: a.name,
      to: a.to,
      path: path.resolve(a.path),
      targetPath: a.targetPath,
      include: a.include ?? [],
      exclude: a.exclude ?? [],
      mirror: a.mirror,
      replicate: a.replicate,
      keyFile: keyFile ? path.resolve(keyFile) : undefined,
      watcher: a.watcher,
    })) as ConnectionStatus;
    return { data: s, text: statusLines(s) };
  },
};
