// Finding smr's config file (cosmiconfig finds .smrrc, .smrrc.json, .smrrc.yaml, smr.config.js, ...
// or --config FILE). Every CLI call searches; most find nothing, so the parser and the schema
// (config.ts with yaml and zod, ~0.15 s of a call's start) are imported only when a file is found.
import path from 'node:path';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { SmrError, asSmrError } from '../shared/errors.js';
import type { Parsed } from './config.js';
import type { SmrConfig } from './schema.js';

/**
 * A package.json without an `smr` key, parsed plainly (cosmiconfig then finds no settings in it and
 * searches on); undefined for any other file, or one the full parser must read (to report a syntax
 * error with its position, or to map smr's settings to lines). Run from a project's directory, every
 * call met its package.json and loaded yaml and zod for nothing.
 */
function unrelatedPackageJson(filepath: string, content: string): object | undefined {
  if (path.basename(filepath) !== 'package.json') return undefined;
  try {
    const value = JSON.parse(content) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    return Object.hasOwn(value, 'smr') ? undefined : value;
  } catch {
    return undefined;
  }
}

/** Loads the config named by --config, or searches for one from the current directory up. */
export async function loadConfig(
  file?: string,
): Promise<{ config: SmrConfig; filepath: string | null }> {
  const parsed = new Map<string, Parsed>();
  const load: Loader = async (filepath, content) => {
    const skip = unrelatedPackageJson(filepath, content);
    if (skip) return skip;
    const p = (await import('./config.js')).parseText(filepath, content);
    parsed.set(filepath, p);
    return p.doc.toJS() as unknown;
  };
  const explorer = cosmiconfig('smr', {
    searchStrategy: 'global',
    loaders: { '.json': load, '.yaml': load, '.yml': load, noExt: load },
  });
  let res;
  try {
    res = file ? await explorer.load(file) : await explorer.search();
  } catch (err) {
    if (err instanceof SmrError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EPERM') throw asSmrError(err);
    const what = file ? `cannot read config ${file}` : 'cannot search for a config file';
    throw new SmrError('config', `${what}: ${e.message.split('\n')[0]}`);
  }
  if (!res || res.isEmpty) return { config: {}, filepath: res?.filepath ?? null };
  const { validateConfig } = await import('./config.js');
  const config = validateConfig(res.config, res.filepath, parsed.get(res.filepath));
  return { config, filepath: res.filepath };
}
