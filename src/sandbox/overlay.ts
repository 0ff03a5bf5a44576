/** Making a sandbox: its folder, owner record, user namespace and the overlay over the jail (and layers). */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { KilnError } from '../util/errors.js';
import { openCgroup } from './cgroup.js';
import { checkOverlayPaths, mountDisk, mountOverlay, mountTmpfs, removeTree } from './mounts.js';
import { gateDir, idmapHelper, pickIdBase, runHelper } from './userns.js';
import { Sandbox, processStart } from './sandbox.js';
import {
  diskImage,
  sandboxesDir,
  type CreateSandboxOptions,
  type OpenSandboxOptions,
  type SandboxOwner,
  type SandboxRunner,
  type SandboxSession,
} from './session.js';

/** Mounts an overlay over `opts.jail` and returns the open {@link Sandbox}. */
export async function createSandbox(opts: CreateSandboxOptions): Promise<Sandbox> {
  if (!fs.existsSync(path.join(opts.jail.path, 'usr'))) {
    throw new KilnError('KILN_E_SANDBOX', `jail ${opts.jail.name} has no root at ${opts.jail.path}`, {
      hint: `recreate it: kiln jail delete ${opts.jail.name} && kiln jail create ${opts.jail.name}`,
      exitCode: 1,
    });
  }
  const id = sandboxId(opts.label ?? opts.jail.name);
  const dir = path.join(sandboxesDir(opts.home), id);
  const bin = opts.userns === false ? null : await idmapHelper();
  const disk = opts.limits?.diskBytes;
  const files = opts.files ?? opts.limits?.files;
  const owner: SandboxOwner = {
    pid: process.pid,
    pidStart: processStart(process.pid) ?? '',
    jail: opts.jail.name,
    lower: path.resolve(opts.jail.path),
    created: new Date().toISOString(),
    idBase: bin ? pickIdBase() : 0,
    ...(opts.layers && opts.layers.length > 0 ? { layers: opts.layers.map((l) => path.resolve(l)) } : {}),
  };
  const layers = owner.layers ?? [];
  const ns = path.join(dir, 'ns');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (opts.tmpfsBytes !== undefined) await mountTmpfs(dir, opts.tmpfsBytes, files);
    else if (disk !== undefined) await mountDisk(dir, diskImage(dir), disk, files);
    fs.chmodSync(dir, 0o700);
    fs.writeFileSync(path.join(dir, 'owner.json'), `${JSON.stringify(owner)}\n`);
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d));
    if (bin) {
      await mountIdmapped(bin, dir, id, owner, ns);
    } else {
      await mountOverlay(
        [...layers, owner.lower],
        path.join(dir, 'upper'),
        path.join(dir, 'work'),
        path.join(dir, 'merged'),
      );
    }
  } catch (e) {
    await removeTree(path.join(gateDir(), id)).catch(() => undefined);
    await removeTree(dir).catch(() => undefined);
    throw e;
  }
  const sb = new Sandbox(
    id,
    dir,
    opts.jail,
    openCgroup(`kiln-${id}`),
    bin ? { base: owner.idBase!, nsFile: ns, bin, gate: path.join(gateDir(), id) } : null,
    opts.tmpfsBytes !== undefined || disk !== undefined ? { diskBytes: opts.tmpfsBytes ?? disk, files } : null,
  );
  opts.proc?.defer(`teardown sandbox ${id}`, () => sb.teardown());
  return sb;
}

/** A sandbox's id: `name` made safe (lower case, dashes, at most 40 characters) and made unique. */
function sandboxId(name: string): string {
  const label =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'sb';
  return `${label}-${crypto.randomBytes(4).toString('hex')}`;
}

/**
 * The overlay of a sandbox with a user namespace, made in one helper process: the user namespace, the jail and each
 * layer idmapped through it (their root-owned files are root's inside), the overlay over them, and the overlay bound
 * at the gate (`/run/kiln/ID/root`) for bubblewrap.
 */
async function mountIdmapped(bin: string, dir: string, id: string, owner: SandboxOwner, ns: string): Promise<void> {
  const layers = owner.layers ?? [];
  const lowers = [...layers.map((_, i) => path.join(dir, `layer${i}`)), path.join(dir, 'lower')];
  for (const l of lowers) fs.mkdirSync(l);
  const st = fs.statSync(owner.lower);
  fs.chownSync(path.join(dir, 'upper'), owner.idBase!, owner.idBase!);
  fs.chmodSync(path.join(dir, 'upper'), st.mode & 0o7777);
  fs.mkdirSync(gateDir(), { recursive: true, mode: 0o711 });
  fs.chmodSync(gateDir(), 0o711);
  fs.mkdirSync(path.join(gateDir(), id, 'root'), { recursive: true, mode: 0o711 });
  fs.chmodSync(path.join(gateDir(), id), 0o711);
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => path.join(dir, d)) as [string, string, string];
  checkOverlayPaths([owner.lower, ...layers, ...lowers, upper, work, merged]);
  await runHelper(bin, [
    ['userns', owner.idBase!, ns],
    ...[...layers, owner.lower].map((src, i) => ['idmap', src, lowers[i]!] as const),
    ['overlay', lowers.join(':'), upper, work, merged],
    ['bind', merged, path.join(gateDir(), id, 'root')],
  ]);
}

/** The real {@link SandboxRunner}: overlayfs + bubblewrap sandboxes under `HOME/sandboxes`. */
export class BwrapRunner implements SandboxRunner {
  constructor(private readonly home: string) {}
  open(opts: OpenSandboxOptions): Promise<SandboxSession> {
    return createSandbox({ ...opts, home: this.home });
  }
}
