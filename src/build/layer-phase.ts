/**
 * The `layer` phase: a build's dependencies from the jail's archive come from a dependency layer (`src/layers/`),
 * made on first use by the same two apt steps as any install (download through the archive proxy, install with no
 * network at all), in a sandbox of its own in which nothing but apt runs, then stacked read-only under the build's
 * sandbox. With a shared layer (the packages most ports of a bulk need), a port's own layer holds only its
 * remainder, installed over the shared one.
 */
import path from 'node:path';
import { ExecError } from '../util/exec.js';
import {
  evictLayers,
  findLayer,
  layerStack,
  readInstalled,
  requestKey,
  saveLayer,
  type Layer,
} from '../layers/index.js';
import {
  createSandbox,
  type BindMount,
  type SandboxCommand,
  type SandboxResult,
  type SandboxSession,
} from '../sandbox/index.js';
import { aptLine, installDepends, installPackages, type AptStep } from './install.js';
import type { BuildPortInput } from './build.js';

/** kiln.yaml's dependency layers, for one build (`cache.layers_mb`). */
export interface LayerSpec {
  /** `HOME/cache/layers`. */
  readonly root: string;
  /** The jail's identity (a layer belongs to one state of one jail). */
  readonly jailIdentity: string;
  /** All layers together stay under this many bytes (least recently used evicted first). */
  readonly maxBytes: number;
  /** The bulk's shared layer: package names most of its ports install (used when a port needs them all). */
  readonly shared?: readonly string[];
}

/** One install a layer is made of. */
export interface LayerRequest {
  /** What identifies it besides the jail (names, or the `.dsc`'s sha256 and profiles). */
  readonly words: readonly string[];
  /** Package names it installs (to see whether the shared layer is part of it). */
  readonly names: readonly string[];
  /** The two apt steps (see `install.ts`). */
  readonly download: string;
  readonly install: string;
  readonly binds?: readonly BindMount[];
}

/** What the phase gets from `buildPort`. */
export interface LayerContext {
  readonly inp: BuildPortInput;
  readonly log: (line: string) => void;
  readonly run: (sb: SandboxSession, cmd: SandboxCommand) => Promise<SandboxResult>;
}

/** Layers being made by this process, by request key: concurrent builds of one request wait for one install. */
const making = new Map<string, Promise<Layer>>();

/** The layer of `req` (found or made), or undefined when layers are off for this build. */
export async function dependencyLayer(ctx: LayerContext, req: LayerRequest): Promise<Layer | undefined> {
  const spec = ctx.inp.layers;
  if (!spec) return undefined;
  const shared = spec.shared ?? [];
  const useShared =
    shared.length > 0 && shared.every((n) => req.names.includes(n)) && req.names.some((n) => !shared.includes(n));
  const parent = useShared ? await sharedLayer(ctx, shared) : undefined;
  if (!parent) return layerFor(ctx, req);
  try {
    return await layerFor(ctx, req, parent);
  } catch (e) {
    // Over the shared layer apt may not find a solution it finds over the jail (a version the shared layer has
    // but the port's relations exclude): the port's layer is then made over the jail.
    if (!(e instanceof ExecError) || e.reason === 'aborted') throw e;
    ctx.log(`dependency layer over the shared one failed (${e.message.split('\n')[0]}); making it over the jail`);
    return layerFor(ctx, req);
  }
}

/** Shared layers apt could not make in this process (a virtual name with several providers): not tried again. */
const sharedFailed = new Set<string>();

/** The bulk's shared layer, or undefined when it cannot be made (the port's layer is then made over the jail). */
async function sharedLayer(ctx: LayerContext, shared: readonly string[]): Promise<Layer | undefined> {
  const id = `${ctx.inp.layers!.root}\0${ctx.inp.jail.name}\0${ctx.inp.layers!.jailIdentity}\0${shared.join(' ')}`;
  if (sharedFailed.has(id)) return undefined;
  try {
    return await layerFor(ctx, { words: ['install', ...shared], names: shared, ...installPackages(shared) });
  } catch (e) {
    if (!(e instanceof ExecError) || e.reason === 'aborted') throw e;
    sharedFailed.add(id);
    ctx.log(`the shared dependency layer (${shared.join(' ')}) cannot be made; the port's own goes over the jail`);
    return undefined;
  }
}

async function layerFor(ctx: LayerContext, req: LayerRequest, parent?: Layer): Promise<Layer> {
  const spec = ctx.inp.layers!;
  const jail = ctx.inp.jail.name;
  const reqKey = requestKey(spec.jailIdentity, parent, req.words);
  const found = findLayer(spec.root, jail, reqKey);
  if (found) {
    ctx.log(`${describe(found)}: reused`);
    return found;
  }
  const memo = `${spec.root}\0${jail}\0${reqKey}`;
  let p = making.get(memo);
  if (p) {
    ctx.log(`dependency layer ${reqKey.slice(0, 16)}: another build is making it; waiting`);
  } else {
    p = makeLayer(ctx, req, reqKey, parent);
    making.set(memo, p);
    p.finally(() => making.delete(memo)).catch(() => undefined);
  }
  return p;
}

function describe(l: Layer): string {
  const over = l.parents.length > 0 ? ` over ${l.parents[0]!.meta.key.slice(0, 16)}` : '';
  return `dependency layer ${l.meta.key.slice(0, 16)}${over} (${l.meta.packages.length} packages, ${Math.round(l.meta.bytes / 1048576)} MiB)`;
}

/** Installs `req` in a fresh sandbox over the jail (and `parent`) and keeps what it wrote as a layer. */
async function makeLayer(ctx: LayerContext, req: LayerRequest, reqKey: string, parent?: Layer): Promise<Layer> {
  const { inp, log } = ctx;
  const spec = inp.layers!;
  const t0 = Date.now();
  log(`dependency layer ${reqKey.slice(0, 16)}: not made yet; installing ${req.words.join(' ')}`);
  const sb = await createSandbox({
    home: inp.home,
    jail: { name: inp.jail.name, path: inp.jail.path },
    label: `layer-${inp.port.origin}`,
    limits: inp.limits,
    ...(parent ? { layers: layerStack(parent) } : {}),
  });
  try {
    const status = sb.hostPath('/var/lib/dpkg/status');
    const before = readInstalled(status);
    await installDepends({
      home: inp.home,
      run: (cmd) => ctx.run(sb, cmd),
      download: req.download,
      install: req.install,
      ...(req.binds ? { binds: req.binds } : {}),
    });
    const t1 = Date.now();
    const layer = await saveLayer({
      root: spec.root,
      jail: { name: inp.jail.name, identity: spec.jailIdentity },
      reqKey,
      request: req.words,
      ...(parent ? { parent } : {}),
      take: (dest) => sb.teardownKeepingUpper(dest),
      idBase: sb.hostId(0),
      before,
      after: readInstalled(status),
    });
    const secs = (a: number, b: number): string => ((b - a) / 1000).toFixed(1);
    log(
      `${describe(layer)}: made in ${secs(t0, Date.now())} s (install ${secs(t0, t1)} s, saved in ${secs(t1, Date.now())} s)`,
    );
    const evicted = await evictLayers(inp.home, spec.maxBytes, layerStack(layer));
    for (const d of evicted) log(`dependency layer ${path.basename(d).slice(0, 16)}: evicted (cache.layers_mb)`);
    return layer;
  } finally {
    await sb.teardown();
  }
}

/**
 * The layer request of a Debian source package without kiln-built build dependencies: `apt-get build-dep` of its
 * `.dsc` (the archive's, sha256-checked; bound read-only at `dscPath`) under the build's profiles, with fakeroot
 * and the overlay recipe's `depends.system`. Keyed by the `.dsc`'s sha256, so a patched `debian/control` is
 * checked again in the build's own `build-depends` phase.
 */
export function debianLayerRequest(o: {
  readonly dscPath: string;
  readonly dscSource: string;
  readonly dscSha256: string;
  readonly profiles: readonly string[];
  readonly system: readonly string[];
  /** The binary names its Build-Depends need (`buildDependNames`), to see whether the shared layer fits. */
  readonly needs: readonly string[];
}): LayerRequest {
  const extra = [...new Set(['fakeroot', ...o.system])].sort();
  const opts = o.profiles.length > 0 ? ['-o', `APT::Build-Profiles=${o.profiles.join(',')}`] : [];
  const step = (s: AptStep): string =>
    [aptLine(s, 'build-dep', [o.dscPath], opts), aptLine(s, 'install', extra)].join('\n');
  return {
    words: ['build-dep', o.dscSha256, `profiles=${o.profiles.join(',')}`, ...extra],
    names: [...new Set([...o.needs, ...extra])],
    download: step('download'),
    install: step('install'),
    binds: [{ source: o.dscSource, dest: o.dscPath, readonly: true }],
  };
}

/**
 * True when the unpacked (and patched) source's build dependencies are all installed: `dpkg-checkbuilddeps` under
 * the build's profiles, run as the build user with no network. False: the caller installs what is missing.
 */
export async function satisfiedByLayer(o: {
  readonly run: (sb: SandboxSession, cmd: SandboxCommand) => Promise<SandboxResult>;
  readonly sb: SandboxSession;
  readonly srcDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly profiles: readonly string[];
}): Promise<boolean> {
  const res = await o.run(o.sb, {
    argv: ['dpkg-checkbuilddeps', ...(o.profiles.length > 0 ? ['-P', o.profiles.join(',')] : [])],
    user: 'build',
    network: false,
    env: o.env,
    cwd: o.srcDir,
    allowFailure: true,
  });
  return res.status === 0;
}
