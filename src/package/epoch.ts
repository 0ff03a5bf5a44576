/**
 * SOURCE_DATE_EPOCH of a port: the time of the last commit that touched its folder when the tree is a git
 * checkout, else the newest modification time of its files (recipe, patches, files/). Never before
 * {@link MIN_SOURCE_DATE_EPOCH} (1980, also what a folder with neither gives) and never after now.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { MIN_SOURCE_DATE_EPOCH } from './port.js';

/** The newest mtime (seconds) of the regular files under `dir`, links not followed; at most `limit` entries looked at. */
function newestMtime(dir: string, limit = 10_000): number | undefined {
  let newest: number | undefined;
  let seen = 0;
  const visit = (abs: string): void => {
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (++seen > limit) return;
      const p = path.join(abs, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.git') visit(p);
      } else if (e.isFile()) {
        const t = Math.floor(fs.lstatSync(p).mtimeMs / 1000);
        if (newest === undefined || t > newest) newest = t;
      }
    }
  };
  visit(dir);
  return newest;
}

/** The port's SOURCE_DATE_EPOCH (see the module comment). */
export async function portSourceDateEpoch(portDir: string, now = Math.floor(Date.now() / 1000)): Promise<number> {
  let t: number | undefined;
  try {
    const r = await run('git', ['-c', 'core.fsmonitor=false', '-C', portDir, 'log', '-1', '--format=%ct', '--', '.'], {
      allowFailure: true,
      timeoutMs: 30_000,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    });
    const n = Number(r.stdout.trim());
    if (r.status === 0 && Number.isInteger(n) && n > 0) t = n;
  } catch {
    /* no git: file times */
  }
  t ??= newestMtime(portDir);
  return Math.min(Math.max(t ?? MIN_SOURCE_DATE_EPOCH, MIN_SOURCE_DATE_EPOCH), Math.max(now, MIN_SOURCE_DATE_EPOCH));
}
