/** Finding and removing sandboxes a dead kiln left behind (for `--resume` and `kiln doctor`). */
import fs from 'node:fs';
import path from 'node:path';
import { removeStaleCgroups } from './cgroup.js';
import { gateDir } from './userns.js';
import { mountsUnder, removeTree } from './mounts.js';
import { processStart } from './sandbox.js';
import { diskImage, sandboxesDir, trashDir, type SandboxOwner } from './session.js';

/** One sandbox folder found under `HOME/sandboxes`. */
export interface SandboxInfo {
  readonly id: string;
  readonly dir: string;
  /** What owner.json says (undefined when missing or unreadable). */
  readonly owner: SandboxOwner | undefined;
  /** Its owning kiln process still runs. */
  readonly live: boolean;
  /** Its overlay is mounted. */
  readonly mounted: boolean;
}

function readOwner(dir: string): SandboxOwner | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'owner.json'), 'utf8')) as SandboxOwner;
  } catch {
    return undefined;
  }
}

/** Every sandbox folder of `home`, with whether its owner is alive. */
export function listSandboxes(home: string): SandboxInfo[] {
  const root = sandboxesDir(home);
  let names: string[] = [];
  try {
    names = fs
      .readdirSync(root)
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch {
    return [];
  }
  return names.map((id) => {
    const dir = path.join(root, id);
    const owner = readOwner(dir);
    const live = owner !== undefined && processStart(owner.pid) === owner.pidStart && owner.pidStart !== '';
    return { id, dir, owner, live, mounted: mountsUnder(dir).length > 0 };
  });
}

/**
 * Kills, unmounts and removes every sandbox of `home` whose owning process is gone (all of them with
 * `{ all: true }`), and their cgroups. Returns the ids removed. Safe to run at any time.
 */
export async function cleanupStaleSandboxes(home: string, opts: { all?: boolean } = {}): Promise<string[]> {
  const removed: string[] = [];
  const live = new Set<string>();
  for (const s of listSandboxes(home)) {
    if (s.live && !opts.all) {
      live.add(`kiln-${s.id}`);
      continue;
    }
    removeStaleCgroups((name) => name !== `kiln-${s.id}`);
    await removeTree(path.join(gateDir(), s.id));
    await removeTree(s.dir);
    fs.rmSync(diskImage(s.dir), { force: true });
    removed.push(s.id);
  }
  // Torn-down sandboxes whose background deletion did not finish (kiln died meanwhile).
  const trash = trashDir(sandboxesDir(home));
  if (mountsUnder(trash).length === 0) fs.rmSync(trash, { recursive: true, force: true, maxRetries: 3 });
  // Stray mounts under the sandboxes folder with no folder record (should not happen, but never leak).
  for (const m of mountsUnder(sandboxesDir(home))) {
    const id = path.relative(sandboxesDir(home), m.target).split(path.sep)[0] ?? '';
    if (id !== '' && id !== '..' && !live.has(`kiln-${id}`)) await removeTree(path.join(sandboxesDir(home), id));
  }
  return removed;
}
