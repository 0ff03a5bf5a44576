/**
 * `--debian RELEASE` trees: the tree's folder (`HOME/trees/NAME`) holds one index file made from the archive's
 * `Sources` and each indexed architecture's `Packages` (see the `debian` module's `tree-index.ts`). Adding
 * downloads them (through the shared cache of `HOME/cache/debian/RELEASE`); `kiln tree update` refreshes them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import {
  DEBIAN_KEYRING,
  availableSuites,
  debianArch,
  hostMirror,
  hostSecurityMirror,
  makeTreeIndex,
  resolveRelease,
  updatePackagesIndex,
  updateSourcesIndex,
  writeTreeIndex,
} from '../debian/index.js';
import type { Store, TreeRecord, TreeSpec } from '../store/index.js';

type DebianSpec = Extract<TreeSpec, { kind: 'debian' }>;

const RELEASE_RE = /^[a-z][a-z0-9.-]*$/;
const ARCH_RE = /^[a-z0-9]+$/;

/**
 * Downloads (or refreshes: the release files with If-Modified-Since, each `Sources` only when its hash changed) the
 * indexes of the release's suites (`REL`, `REL-updates`, `REL-security`; sid alone) and writes the tree's index,
 * where a source package stands at its highest version across them; returns the source count and the suites.
 */
export async function updateDebianTree(
  spec: DebianSpec,
  home: string,
  log?: (l: string) => void,
): Promise<{ sources: number; suites: string[] }> {
  const mirror = spec.mirror ?? hostMirror();
  // The release file is checked against Debian's archive keys when the host has them (package debian-archive-keyring).
  const keyring = fs.existsSync(DEBIAN_KEYRING) ? DEBIAN_KEYRING : undefined;
  const base = {
    home,
    mirror,
    release: spec.release,
    component: spec.component,
    refresh: 'always' as const,
    ...(keyring ? { keyring } : {}),
    ...(log ? { log } : {}),
  };
  const suites = await availableSuites({
    mirror,
    security: hostSecurityMirror(),
    codename: spec.release,
    updates: spec.updates !== false,
    ...(log ? { log } : {}),
  });
  const texts: { text: string; url?: string }[] = [];
  for (const s of suites) {
    const got = await updateSourcesIndex({ ...base, mirror: s.url, release: s.suite });
    texts.push({ text: fs.readFileSync(got.path, 'utf8'), ...(s.url !== mirror ? { url: s.url } : {}) });
  }
  const packages: Record<string, string> = {};
  for (const arch of spec.arches)
    packages[arch] = fs.readFileSync((await updatePackagesIndex({ ...base, arch })).path, 'utf8');
  const data = makeTreeIndex({ release: spec.release, component: spec.component, mirror, suites: texts, packages });
  if (data.plan.pkg.length === 0) {
    throw new KilnError('KILN_E_TREE_INVALID', `Debian ${spec.release} ${spec.component} lists no source packages`, {
      hint: 'check the release and component names',
    });
  }
  writeTreeIndex(spec.dir, data);
  return { sources: data.plan.pkg.length, suites: suites.map((x) => x.suite) };
}

/** Registers a `--debian` tree after making its index. */
export async function addDebianTree(
  store: Store,
  home: string,
  o: {
    name: string;
    release: string;
    component?: string;
    arches?: readonly string[];
    mirror?: string;
    updates?: boolean;
  },
): Promise<TreeRecord> {
  if (!RELEASE_RE.test(o.release)) {
    throw new KilnError('KILN_E_TREE_INVALID', `"${o.release}" is not a Debian release name`, {
      hint: 'give a suite or codename such as bookworm',
    });
  }
  // The host's architecture, and arm64 (boards built under qemu-user) unless told otherwise.
  const arches = o.arches && o.arches.length > 0 ? [...new Set(o.arches)] : [...new Set([debianArch(), 'arm64'])];
  const bad = arches.filter((a) => !ARCH_RE.test(a));
  if (bad.length > 0)
    throw new KilnError('KILN_E_TREE_INVALID', `not an architecture name: ${bad.join(', ')}`, {
      hint: 'e.g. --arch amd64,arm64',
    });
  const dir = path.join(home, 'trees', o.name);
  if (fs.existsSync(dir)) {
    throw new KilnError('KILN_E_TREE_EXISTS', `${dir} exists already but no tree "${o.name}" is registered`, {
      hint: `remove ${dir} (a leftover) or pick another name`,
    });
  }
  // A suite name (stable, testing) is recorded as the codename it names today, as jails do.
  const release = await resolveRelease(o.mirror ?? hostMirror(), o.release);
  const spec: DebianSpec = {
    kind: 'debian',
    release,
    component: o.component ?? 'main',
    dir,
    arches,
    ...(o.mirror ? { mirror: o.mirror } : {}),
    ...(o.updates === false ? { updates: false } : {}),
  };
  try {
    await updateDebianTree(spec, home);
    return store.insertTree(o.name, spec);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
