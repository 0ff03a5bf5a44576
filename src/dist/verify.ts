/**
 * What the master checks in each `.deb` a worker uploads, beyond its hash and build identity: that it is a package
 * of the job's port (its name one the port makes, its version the port's, its architecture the jail's or `all`) and
 * that its file name agrees with its control file. A build's output is untrusted: a hostile build on a worker must
 * not be able to publish a package of another port, or one whose control file lies about what it is.
 */
import type { Port } from '../recipe/index.js';
import { debianKilnVersion } from '../debian/index.js';
import { debVersion } from '../package/index.js';
import { parseControl } from '../repo/index.js';

/** The version the port's packages must carry. */
function expectedVersion(port: Port): string {
  return port.debian
    ? debianKilnVersion(port.debian.version, port.recipe.revision)
    : debVersion(port.recipe.version, port.recipe.revision);
}

/**
 * Package names the port may make: a Debian source package's binaries and their -dbgsym; a recipe's own name, the
 * names of its `packages:` and their -dbgsym.
 */
function allowedNames(port: Port): Set<string> {
  if (port.debian) return new Set(port.debian.binary.flatMap((b) => [b, `${b}-dbgsym`]));
  const names = [port.pkgname, ...Object.keys(port.recipe.packages ?? {})];
  return new Set(names.flatMap((b) => [b, `${b}-dbgsym`]));
}

/**
 * A library package of the default split (src/package/split.ts): named after a SONAME the build ships, so not known
 * before the build: `libNAME…`, its `-dev` or its `-dbgsym`.
 */
const LIB_SPLIT = /^lib[a-z0-9][a-z0-9+.-]*$/;

/**
 * Why the `.deb` named `fileName`, with control file text `control`, is not a package of `port` built for `arch`;
 * undefined when it is.
 */
export function debMismatch(control: string, fileName: string, port: Port, arch: string): string | undefined {
  const f = new Map(parseControl(control).map((x) => [x.name.toLowerCase(), x.value.trim()]));
  const name = f.get('package') ?? '';
  const version = f.get('version') ?? '';
  const debArch = f.get('architecture') ?? '';
  if (!allowedNames(port).has(name) && (port.debian !== undefined || !LIB_SPLIT.test(name)))
    return `its control file names package ${JSON.stringify(name)}, which port ${port.origin} does not make`;
  const want = expectedVersion(port);
  if (version !== want)
    return `its control file says version ${JSON.stringify(version)}, not ${want} (port ${port.origin})`;
  if (debArch !== arch && debArch !== 'all')
    return `its control file says architecture ${JSON.stringify(debArch)}, not ${arch} or all`;
  const canonical = `${name}_${version.replace(/^\d+:/, '')}_${debArch}.deb`;
  if (fileName !== canonical) return `it is named ${fileName}, but its control file makes it ${canonical}`;
  return undefined;
}
