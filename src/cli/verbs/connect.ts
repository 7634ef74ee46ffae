// `smr connect NAME --to HOST:PORT --path DIR ...`: record a connection in the running source.
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { SmrError } from '../../shared/errors.js';
import { checkPattern, patternsFromText } from '../../source/filter.js';
import { source } from '../daemon-call.js';
import { statusLines } from '../render-status.js';
import type { ConnectParams } from '../../control/methods.js';
import type { Verb } from '../verb.js';
import { hostPortFlag, sizeFlag } from '../options.js';
import { parseSize } from '../../shared/units.js';

/** The patterns of a flag and of its -from files, each checked (the files are read once, now). */
async function patterns(flag: string, given?: string[], files?: string[]): Promise<string[]> {
  const out = [...(given ?? [])];
  for (const f of files ?? []) {
    const text = await fsp.readFile(path.resolve(f), 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new SmrError('usage', `${flag}-from ${f}: cannot read it (${err.code ?? err.message})`);
    });
    out.push(...patternsFromText(text));
  }
  for (const p of out) checkPattern(p, flag);
  return out;
}

export const connectVerb: Verb = {
  command: 'connect <name>',
  describe: 'Start replicating a directory to a target',
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'connection name' })
      .option('to', { ...hostPortFlag('to', 'target HOST:PORT'), demandOption: true })
      .option('path', { type: 'string', demandOption: true, describe: 'source directory' })
      .option('target-path', {
        type: 'string',
        describe: 'replica path under the target root (default: NAME)',
      })
      .option('include', {
        type: 'string',
        array: true,
        describe: 'pattern of files to replicate (repeatable; rsync-like, see docs/FILTERS.md)',
      })
      .option('exclude', {
        type: 'string',
        array: true,
        describe: 'pattern of paths to leave out (repeatable): node_modules, *.log, /build, cache/',
      })
      .option('include-from', {
        type: 'string',
        array: true,
        describe: 'read include patterns from FILE, one a line (# comments)',
      })
      .option('exclude-from', {
        type: 'string',
        array: true,
        describe: 'read exclude patterns from FILE, one a line (# comments)',
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
      })
      .option('compress', {
        choices: ['zstd', 'lz4', 'none'] as const,
        describe: 'compress data on the link (default zstd; data that does not shrink goes raw)',
      })
      .option('consistency', {
        choices: ['file', 'crash'] as const,
        default: 'file',
        describe: 'file: each file converges; crash: a state the whole source went through',
      })
      .option('owner', {
        type: 'boolean',
        default: true,
        describe: 'replicate numeric uid/gid (--no-owner: the target process owns what it writes)',
      })
      .option('xattrs', {
        type: 'boolean',
        default: true,
        describe: 'replicate extended attributes (--no-xattrs to leave them out)',
      })
      .option('acls', {
        type: 'boolean',
        default: true,
        describe: 'replicate POSIX ACLs (--no-acls to leave them out)',
      })
      .option('hard-links', {
        type: 'boolean',
        default: true,
        describe:
          'keep hard links as links (--no-hard-links sends each name as a separate file, like rsync without -H)',
      })
      .option('queue-limit', {
        ...sizeFlag(
          'queue-limit',
          'bound on the queue (default 1GiB, or a tenth of the free space if less; at least 32MiB): past it, capture stops and the target is remirrored by itself',
        ),
      })
      .option('insecure-no-tls', {
        type: 'boolean',
        describe: 'plaintext link (the target needs it too; benchmarks on trusted networks only)',
      }),
  async run(
    a: {
      name: string;
      to: string;
      path: string;
      targetPath?: string;
      include?: string[];
      exclude?: string[];
      includeFrom?: string[];
      excludeFrom?: string[];
      mirror: ConnectParams['mirror'];
      replicate: boolean;
      keyFile?: string;
      watcher: ConnectParams['watcher'];
      compress?: string;
      consistency: 'file' | 'crash';
      insecureNoTls?: boolean;
      owner: boolean;
      xattrs: boolean;
      acls: boolean;
      hardLinks: boolean;
      queueLimit?: number;
    },
    ctx,
  ) {
    const include = await patterns('--include', a.include, a.includeFrom);
    const exclude = await patterns('--exclude', a.exclude, a.excludeFrom);
    const keyFile = a.keyFile ?? ctx.config.keyFile;
    const limit = ctx.config.source?.queueLimit;
    const queueLimit = a.queueLimit ?? (limit === undefined ? undefined : parseSize(limit));
    const s = await source(ctx, 'connect', {
      name: a.name,
      to: a.to,
      path: path.resolve(a.path),
      targetPath: a.targetPath,
      include,
      exclude,
      mirror: a.mirror,
      replicate: a.replicate,
      keyFile: keyFile ? path.resolve(keyFile) : undefined,
      compress: a.compress as ConnectParams['compress'],
      insecureNoTls: a.insecureNoTls === true,
      preserve: { owner: a.owner, xattrs: a.xattrs, acls: a.acls, hardLinks: a.hardLinks },
      watcher: a.watcher,
      queueLimit,
      consistency: a.consistency,
    });
    return { data: s, text: statusLines(s) };
  },
};
