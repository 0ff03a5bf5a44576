/** Ending a sandbox: its mounts (and its gate's) unmounted, its folder, gate and disk image removed. */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { discardTree, mountsUnder, removeTree, unmountUnder } from './mounts.js';
import { diskImage, trashDir } from './session.js';

/** One umount for the gate's and the sandbox's mounts, newest first (each is one process under load). */
export async function umountAll(dir: string, gate: string | undefined): Promise<void> {
  const all = [...(gate !== undefined ? mountsUnder(gate) : []), ...mountsUnder(dir)];
  all.sort((a, b) => b.seq - a.seq);
  if (all.length > 0)
    await run(
      'umount',
      all.map((m) => m.target),
      { allowFailure: true },
    );
}

/**
 * Removes an unmounted sandbox: its gate (`/run/kiln/ID`, with a user namespace), whatever is still mounted under
 * its folder, the folder itself (moved to the trash and deleted in the background) and its disk image.
 */
export async function removeSandbox(dir: string, gate: string | undefined): Promise<void> {
  if (gate !== undefined) await removeTree(gate);
  await unmountUnder(dir);
  await discardTree(dir, trashDir(path.dirname(dir)));
  fs.rmSync(diskImage(dir), { force: true });
}
