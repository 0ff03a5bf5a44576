/** Architectures: the host's, and whether a foreign one can run here (qemu-user-static + binfmt_misc). */
import fs from 'node:fs';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { scaleLimits, type Limits } from '../sandbox/index.js';

/** Debian architecture → qemu's name for it. */
const QEMU_NAME: Readonly<Record<string, string>> = {
  arm64: 'aarch64',
  armhf: 'arm',
  armel: 'arm',
  i386: 'i386',
  amd64: 'x86_64',
  ppc64el: 'ppc64le',
  riscv64: 'riscv64',
  s390x: 's390x',
  mips64el: 'mips64el',
};

/** Architectures the host runs natively as well as its own (amd64 runs i386). */
const NATIVE_ALSO: Readonly<Record<string, readonly string[]>> = { amd64: ['i386'], arm64: ['armhf', 'armel'] };

/** The host's Debian architecture (`dpkg --print-architecture`). */
export async function hostArch(): Promise<string> {
  return (await run('dpkg', ['--print-architecture'])).stdout.trim();
}

/** Where binfmt_misc lives. */
const BINFMT = '/proc/sys/fs/binfmt_misc';

/**
 * Throws KILN_E_FOREIGN_ARCH saying exactly what to install or mount when `arch` can neither run natively nor
 * through qemu-user-static registered in binfmt_misc. Returns 'native' or 'emulated'.
 */
export async function checkArch(arch: string, host?: string, binfmtDir = BINFMT): Promise<'native' | 'emulated'> {
  const h = host ?? (await hostArch());
  if (arch === h || (NATIVE_ALSO[h] ?? []).includes(arch)) return 'native';
  const q = QEMU_NAME[arch];
  if (q === undefined) {
    throw new KilnError('KILN_E_FOREIGN_ARCH', `unknown architecture "${arch}"`, {
      hint: `use a Debian architecture name: ${Object.keys(QEMU_NAME).join(', ')}`,
      exitCode: 2,
    });
  }
  const problems: string[] = [];
  if (!fs.existsSync(`/usr/bin/qemu-${q}-static`) && !fs.existsSync(`/usr/bin/qemu-${q}`)) {
    problems.push('apt-get install qemu-user-static binfmt-support');
  }
  // mmdebstrap checks with arch-test that the foreign architecture runs, and refuses without it.
  if (!fs.existsSync('/usr/bin/arch-test')) problems.push('apt-get install arch-test');
  if (!fs.existsSync(`${binfmtDir}/status`)) {
    problems.push(`mount -t binfmt_misc binfmt_misc ${binfmtDir}`);
    problems.push('update-binfmts --enable');
  } else {
    let entry = '';
    try {
      entry = fs.readFileSync(`${binfmtDir}/qemu-${q}`, 'utf8');
    } catch {
      /* not registered */
    }
    if (!/^enabled/m.test(entry)) problems.push(`update-binfmts --enable qemu-${q}`);
    else if (!/^flags:.*F/m.test(entry))
      problems.push(`re-register qemu-${q} with the F (fix-binary) flag, as Debian's qemu-user-static does`);
  }
  if (problems.length === 0) return 'emulated';
  throw new KilnError(
    'KILN_E_FOREIGN_ARCH',
    `a jail for ${arch} on this ${h} host needs qemu-user-static registered in binfmt_misc (qemu-${q}), which is not set up`,
    { hint: `as root: ${problems.join(' && ')}`, exitCode: 1 },
  );
}

/**
 * How much slower a build of `arch` runs on this host: 1 natively, {@link EMULATION_SLOWDOWN} under qemu-user.
 * Time limits of builds in a jail of `arch` are multiplied by it ({@link limitsForArch}). Measured by bench/arm64
 * (example tree, both runs at load 11-12): configure 23x, build 19x, install 24x, whole bulk 16x, ports 4-23x;
 * 25 keeps a port that fits its native limit inside the scaled one.
 */
export const EMULATION_SLOWDOWN = 25;

/** The factor for `arch` on host `host` (pure): 1 when it runs natively, else {@link EMULATION_SLOWDOWN}. */
export function emulationFactor(arch: string, host: string): number {
  return arch === host || (NATIVE_ALSO[host] ?? []).includes(arch) ? 1 : EMULATION_SLOWDOWN;
}

/**
 * Build limits for a jail of `arch` on host `host` (pure): the wall, no-output and CPU limits grow by
 * {@link emulationFactor}, as poudriere scales its timeouts under QEMU; memory and process count stay.
 */
export function limitsForArch(limits: Limits, arch: string, host: string): Limits {
  const f = emulationFactor(arch, host);
  return f === 1 ? limits : scaleLimits(limits, f);
}
