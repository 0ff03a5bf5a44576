/**
 * `kiln clean distfiles` (poudriere's distclean): cached distfiles (`HOME/distfiles/sha256/..`) whose sha256 no
 * recipe of any registered tree names, the `by-name/` links to them (and dangling ones), downloads left in `.tmp/`
 * by dead processes, and files quarantined in `.bad/`. A tree that cannot be scanned stops the clean (what it
 * needs is unknown); an invalid recipe keeps every sha256-looking string in its text. A `HOME/distfiles` that is a
 * symbolic link (a cache shared with other homes, whose trees this home does not know) is left alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { resolveTree, scanTree } from '../tree/index.js';
import type { Store } from '../store/index.js';
import { Cleaner, type CleanReport } from './report.js';
import type { CleanOptions } from './packages.js';

const SHA_RE = /^[0-9a-f]{64}$/;

/** Every sha256 a recipe of a registered tree names (invalid recipes: every 64-hex word of their text). */
export async function neededDistfiles(store: Store, cwd: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const t of store.listTrees()) {
    try {
      const ref = resolveTree(store, t.name, cwd);
      // A layer folder that is not there (an unmounted disk) would scan as empty: its ports' needs are unknown.
      for (const l of ref.layers) {
        if (!fs.statSync(l.dir, { throwIfNoEntry: false })?.isDirectory())
          throw new Error(`its folder ${l.dir} is not there`);
      }
      const scan = await scanTree(ref);
      for (const port of scan.ports.values()) for (const s of port.recipe.sources) out.add(s.sha256.toLowerCase());
      for (const p of new Set(scan.problems.map((x) => x.path))) {
        let text = '';
        try {
          text = fs.readFileSync(p, 'utf8');
        } catch {
          continue;
        }
        for (const m of text.toLowerCase().matchAll(/\b[0-9a-f]{64}\b/g)) out.add(m[0]);
      }
    } catch (e) {
      throw new KilnError(
        'KILN_E_TREE_INVALID',
        `cannot tell which distfiles tree ${t.name} needs: ${e instanceof Error ? e.message : String(e)}`,
        { hint: `fix the tree (\`kiln tree update ${t.name}\`) or delete it, then clean again`, exitCode: 1, cause: e },
      );
    }
  }
  return out;
}

/** Is a process with this pid running? */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Removes cached distfiles no registered tree needs. */
export async function cleanDistfiles(o: CleanOptions & { readonly cwd?: string }): Promise<CleanReport> {
  const c = new Cleaner('distfiles', o.home, o.dryRun ?? false);
  const root = path.join(o.home, 'distfiles');
  let st: fs.Stats;
  try {
    st = fs.lstatSync(root);
  } catch {
    return c.report();
  }
  if (st.isSymbolicLink()) {
    c.spare(
      root,
      `a symbolic link to ${fs.readlinkSync(root)}, maybe shared with other homes whose trees are unknown here`,
    );
    return c.report();
  }
  const needed = await neededDistfiles(o.store, o.cwd ?? o.home);
  const byHash = path.join(root, 'sha256');
  const gone = new Set<string>();
  for (const prefix of list(byHash)) {
    const dir = path.join(byHash, prefix);
    for (const name of list(dir)) {
      if (SHA_RE.test(name) && needed.has(name)) continue;
      c.remove(
        path.join(dir, name),
        SHA_RE.test(name) ? 'no recipe of a registered tree uses this sha256' : 'not a cached distfile',
      );
      gone.add(path.join(dir, name));
    }
    if (!c.dryRun && list(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true });
  }
  const byName = path.join(root, 'by-name');
  for (const name of list(byName)) {
    const link = path.join(byName, name);
    let target: string;
    try {
      target = path.resolve(byName, fs.readlinkSync(link));
    } catch {
      c.remove(link, 'not a link into the cache');
      continue;
    }
    if (gone.has(target)) c.remove(link, 'its distfile is removed');
    else if (!fs.existsSync(target)) c.remove(link, 'dangling link');
  }
  for (const name of list(path.join(root, '.tmp'))) {
    if (!alive(Number(name.split('.')[0])))
      c.remove(path.join(root, '.tmp', name), 'download left by a process that is gone');
  }
  for (const name of list(path.join(root, '.bad')))
    c.remove(path.join(root, '.bad', name), 'a download whose sha256 did not match');
  return c.report();
}
