/** Architectures: the host's, and whether a foreign one can run here (qemu-user-static + binfmt_misc). */
import fs from 'node:fs';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';

/** Debian architecture → qemu's name for it. */
const QEMU_NAME: Readonly<Record<string, string>> = {
  arm64: 'aarch64', armhf: 'arm', armel: 'arm', i386: 'i386', amd64: 'x86_64', ppc64el: 'ppc64le',
  riscv64: 'riscv64', s390x: 's390x', mips64el: 'mips64el',
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
  const h = host ?? await hostArch();
  if (arch === h || (NATIVE_ALSO[h] ?? []).includes(arch)) return 'native';
  const q = QEMU_NAME[arch];
  if (q === undefined) {
    throw new KilnError('KILN_E_FOREIGN_ARCH', `unknown architecture "${arch}"`, {
      hint: `use a Debian architecture name: ${Object.keys(QEMU_NAME).join(', ')}`, exitCode: 2 });
  }
  const problems: string[] = [];
  if (!fs.existsSync(`/usr/bin/qemu-${q}-static`) && !fs.existsSync(`/usr/bin/qemu-${q}`)) {
    problems.push('apt-get install qemu-user-static binfmt-support');
  }
  if (!fs.existsSync(`${binfmtDir}/status`)) {
    problems.push(`mount -t binfmt_misc binfmt_misc ${binfmtDir}`);
    problems.push('update-binfmts --enable');
  } else {
    let entry = '';
    try { entry = fs.readFileSync(`${binfmtDir}/qemu-${q}`, 'utf8'); } catch { /* not registered */ }
    if (!/^enabled/m.test(entry)) problems.push(`update-binfmts --enable qemu-${q}`);
    else if (!/^flags:.*F/m.test(entry)) problems.push(`re-register qemu-${q} with the F (fix-binary) flag, as Debian's qemu-user-static does`);
  }
  if (problems.length === 0) return 'emulated';
  throw new KilnError('KILN_E_FOREIGN_ARCH',
    `a jail for ${arch} on this ${h} host needs qemu-user-static registered in binfmt_misc (qemu-${q}), which is not set up`,
    { hint: `as root: ${problems.join(' && ')}`, exitCode: 1 });
}
