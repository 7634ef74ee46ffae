// `smr templates list` and `smr templates copy NAME DEST`: the shipped scripts and units.
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { SmrError } from '../../shared/errors.js';
import { INSTALL_ROOT } from '../../shared/self.js';
import type { Verb } from '../verb.js';
import { table } from '../table.js';

const TEMPLATES = path.join(INSTALL_ROOT, 'templates');

interface TemplateInfo {
  name: string;
  description: string;
}

async function listTemplates(): Promise<TemplateInfo[]> {
  const out: TemplateInfo[] = [];
  for (const dir of (await fsp.readdir(TEMPLATES, { withFileTypes: true })).filter((d) =>
    d.isDirectory(),
  )) {
    for (const f of (await fsp.readdir(path.join(TEMPLATES, dir.name))).sort()) {
      const text = await fsp.readFile(path.join(TEMPLATES, dir.name, f), 'utf8');
      const m = /^# smr-template: (.*)$/m.exec(text.split('\n').slice(0, 4).join('\n'));
      if (m) out.push({ name: `${dir.name}/${f}`, description: (m[1] ?? '').trim() });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Where `copy` writes: into DEST when it is a directory, or when it ends with a slash (like cp,
 * `./dir/` names a directory; it is created, never taken as a file named "dir").
 */
async function destinationFile(dest: string, base: string): Promise<string> {
  const abs = path.resolve(dest);
  const st = await fsp.stat(abs).catch(() => null);
  if (st?.isDirectory()) return path.join(abs, base);
  if (/[/\\]$/.test(dest)) {
    if (st) throw new SmrError('usage', `${dest} is not a directory`);
    await fsp.mkdir(abs, { recursive: true });
    return path.join(abs, base);
  }
  return abs;
}

export const templatesVerb: Verb = {
  command: 'templates <action> [name] [dest]',
  describe: 'List the shipped script templates, or copy one (list|copy NAME DEST)',
  builder: (y) =>
    y
      .positional('action', { choices: ['list', 'copy'] as const })
      .positional('name', { type: 'string' })
      .positional('dest', { type: 'string' }),
  async run(a: { action: string; name?: string; dest?: string }) {
    const all = await listTemplates();
    if (a.action === 'list')
      return {
        data: { templates: all },
        text: table(
          [{ title: 'template' }, { title: 'description' }],
          all.map((t) => [t.name, t.description]),
        ),
      };
    const t = all.find((x) => x.name === a.name || path.basename(x.name) === a.name);
    if (!t)
      throw new SmrError(
        'usage',
        `no template named "${a.name ?? ''}"`,
        'see `smr templates list`',
      );
    if (!a.dest)
      throw new SmrError(
        'usage',
        'templates copy needs a destination',
        'e.g. smr templates copy tasks/snapshot-copy.sh /etc/smr/tasks/',
      );
    const dest = await destinationFile(a.dest, path.basename(t.name));
    try {
      await fsp.copyFile(path.join(TEMPLATES, t.name), dest, fsp.constants.COPYFILE_EXCL);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new SmrError(
          'usage',
          `${dest} already exists`,
          'remove it first or pick another destination',
        );
      throw err;
    }
    const mode = (await fsp.stat(path.join(TEMPLATES, t.name))).mode & 0o777;
    await fsp.chmod(dest, mode | (t.name.endsWith('.sh') ? 0o755 : 0));
    return { data: { name: t.name, path: dest }, text: `copied ${t.name} to ${dest}` };
  },
};
