/**
 * Kept sandboxes (`kiln testport --keep`): a build's sandbox left mounted after the build, for `kiln sandbox shell ID`
 * later. A kept sandbox is moved out of `HOME/sandboxes` (where a later bulk would take it for a dead kiln's leftover)
 * to `HOME/kept-sandboxes/ID`, with `kept.json` saying what it was and how to enter it (folder, environment, binds).
 * `kiln sandbox rm ID` and `kiln clean sandboxes` unmount and delete them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import type { BindMount } from './argv.js';
import { removeStaleCgroups } from './cgroup.js';
import { mountsUnder, removeTree } from './mounts.js';
import type { Sandbox } from './sandbox.js';

/** What `kept.json` records of a kept sandbox. */
export interface KeptSandbox {
  readonly id: string;
  /** The sandbox folder (`HOME/kept-sandboxes/ID`); its `merged` folder is the sandbox's `/`. */
  readonly dir: string;
  readonly origin: string;
  readonly jail: string;
  readonly created: string;
  /** True when the build succeeded. */
  readonly ok: boolean;
  /** The phase a failed build died in, and why. */
  readonly phase?: string;
  readonly reason?: string;
  /** The command that failed (or the last one run). */
  readonly command?: string;
  /** How to enter it: the build's folder, environment and bind mounts (as bubblewrap takes them: gate paths in a user namespace). */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly binds: readonly BindMount[];
  /** Its user namespace: the nsfs file (moved with the folder) and the gate (`/run/kiln/ID`, its root at `root`). */
  readonly userns?: { readonly nsFile: string; readonly gate: string };
  /** The build's log on the host. */
  readonly log?: string;
  /** Whether it is still mounted (filled in by {@link listKept}). */
  readonly mounted?: boolean;
}

/** The folder of kept sandboxes of a kiln home. */
export function keptDir(home: string): string {
  return path.join(home, 'kept-sandboxes');
}

/**
 * Keeps `sb` (an open sandbox with nothing running in it): moves it to `HOME/kept-sandboxes/ID` (the overlay stays
 * mounted), removes its cgroup and writes `kept.json`. The `Sandbox` object must not be used afterwards.
 */
export function keepSandbox(
  home: string,
  sb: Sandbox,
  info: Omit<KeptSandbox, 'id' | 'dir' | 'created' | 'mounted' | 'userns'>,
): KeptSandbox {
  const dir = path.join(keptDir(home), sb.id);
  fs.mkdirSync(keptDir(home), { recursive: true });
  fs.renameSync(sb.dir, dir);
  removeStaleCgroups((name) => name !== `kiln-${sb.id}`);
  const userns = sb.userns
    ? { nsFile: path.join(dir, path.basename(sb.userns.nsFile)), gate: sb.userns.gate }
    : undefined;
  const k: KeptSandbox = { id: sb.id, dir, created: new Date().toISOString(), ...info, ...(userns ? { userns } : {}) };
  fs.writeFileSync(path.join(dir, 'kept.json'), `${JSON.stringify(k, null, 2)}\n`);
  return k;
}

/** Every kept sandbox of `home`, oldest first. */
export function listKept(home: string): KeptSandbox[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(keptDir(home));
  } catch {
    return [];
  }
  const out: KeptSandbox[] = [];
  for (const id of names) {
    const dir = path.join(keptDir(home), id);
    let k: KeptSandbox;
    try {
      k = JSON.parse(fs.readFileSync(path.join(dir, 'kept.json'), 'utf8')) as KeptSandbox;
    } catch {
      k = { id, dir, origin: '?', jail: '?', created: '', ok: false, cwd: '/', env: {}, binds: [] };
    }
    out.push({ ...k, id, dir, mounted: mountsUnder(dir).length > 0 });
  }
  return out.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
}

/** The kept sandbox `id` (or the one whose id starts with it); a usage error naming the ones there are otherwise. */
export function findKept(home: string, id: string): KeptSandbox {
  const all = listKept(home);
  const exact = all.find((k) => k.id === id);
  const hits = exact ? [exact] : all.filter((k) => k.id.startsWith(id));
  if (hits.length === 1) return hits[0]!;
  const known = all.map((k) => k.id).join(', ') || 'none';
  throw new KilnError(
    'KILN_E_USAGE',
    hits.length === 0
      ? `no kept sandbox ${id} (kept: ${known})`
      : `${id} names several kept sandboxes: ${hits.map((k) => k.id).join(', ')}`,
    { hint: 'see `kiln sandbox list`', exitCode: 2 },
  );
}

/** Where a shell enters a kept sandbox: its root folder for bubblewrap and its user namespace's nsfs file, if any. */
export function keptShellRoot(k: KeptSandbox): { root: string; nsFile?: string } {
  return k.userns
    ? { root: path.join(k.userns.gate, 'root'), nsFile: k.userns.nsFile }
    : { root: path.join(k.dir, 'merged') };
}

/** Unmounts and deletes one kept sandbox (its gate first: it binds the sandbox's root). */
async function removeOne(k: KeptSandbox): Promise<void> {
  if (k.userns) await removeTree(k.userns.gate);
  await removeTree(k.dir);
}

/** Unmounts and deletes one kept sandbox. */
export async function removeKept(home: string, id: string): Promise<KeptSandbox> {
  const k = findKept(home, id);
  await removeOne(k);
  return k;
}

/** Unmounts and deletes every kept sandbox (`kiln clean sandboxes`); with `dryRun`, only lists them. */
export async function removeAllKept(home: string, dryRun = false): Promise<KeptSandbox[]> {
  const all = listKept(home);
  if (!dryRun) for (const k of all) await removeOne(k);
  return all;
}
