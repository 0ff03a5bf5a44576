/**
 * `kiln doctor`: every requirement of the build host, each checked for real and reported as ok or missing with
 * the exact command that fixes it. Required checks fail the doctor (exit 1); optional ones name the feature
 * they enable (distributed builds, the live page's browser tests, arm64 jails, images).
 */
import fs from 'node:fs';
import { have, run } from '../util/exec.js';
import { checkSandboxHost } from '../sandbox/index.js';
import { checkArch } from '../jail/index.js';
import { KilnError } from '../util/errors.js';

/** One requirement's outcome. */
export interface DoctorCheck {
  /** Short name (`bwrap`, `user namespaces`, `arm64 (qemu-user + binfmt_misc)`). */
  readonly name: string;
  /** kiln cannot build without it (a missing one makes `kiln doctor` exit 1). */
  readonly required: boolean;
  readonly ok: boolean;
  /** What was found. */
  readonly detail: string;
  /** The command (or step) that fixes it; absent when ok. */
  readonly fix?: string;
  /** What needs it, for optional checks (`kiln image -t raw --bootable`). */
  readonly neededFor?: string;
}

/** What {@link runDoctor} found. */
export interface DoctorReport {
  readonly checks: readonly DoctorCheck[];
  /** Every required check passed. */
  readonly ok: boolean;
}

/** Injection points for tests: where binfmt_misc is and which architecture the host has. */
export interface DoctorOptions {
  readonly binfmtDir?: string;
  readonly hostArch?: string;
}

/** The checks of {@link checkSandboxHost} that kiln cannot build without. */
const REQUIRED_SANDBOX = new Set(['root', 'bwrap', 'mmdebstrap', 'setpriv', 'prlimit', 'overlayfs']);

/** A program check: `cmd` on PATH, else `apt-get install PKG`. */
async function program(
  name: string,
  cmd: string,
  pkg: string,
  required: boolean,
  neededFor?: string,
  version?: string[],
): Promise<DoctorCheck> {
  const ok = await have(cmd);
  let detail = ok ? `${cmd} found` : `${cmd} not found`;
  if (ok && version) {
    const r = await run(cmd, version, { allowFailure: true, timeoutMs: 10_000 }).catch(() => undefined);
    const first = `${r?.stdout ?? ''}${r?.stderr ?? ''}`.trim().split('\n')[0];
    if (first) detail = first;
  }
  return {
    name,
    required,
    ok,
    detail,
    ...(ok ? {} : { fix: `apt-get install --no-install-recommends ${pkg}` }),
    ...(neededFor ? { neededFor } : {}),
  };
}

/** User namespaces: the kernel allows them and one can be made (`unshare --user`). */
async function userNamespaces(): Promise<DoctorCheck> {
  let max = -1;
  try {
    max = Number(fs.readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim());
  } catch {
    /* no such sysctl */
  }
  const r = await run('unshare', ['--user', '--map-root-user', 'true'], {
    allowFailure: true,
    timeoutMs: 10_000,
  }).catch(() => undefined);
  const ok = max > 0 && r?.status === 0;
  return {
    name: 'user namespaces',
    required: true,
    ok,
    detail: ok
      ? `enabled (max_user_namespaces=${max})`
      : `cannot make one (max_user_namespaces=${max}${r ? `, unshare: ${r.stderr.trim() || `status ${r.status}`}` : ''})`,
    ...(ok
      ? {}
      : {
          fix: 'sysctl -w user.max_user_namespaces=15000 (and kernel.unprivileged_userns_clone=1 where that sysctl exists)',
        }),
  };
}

/** arm64 jails on a non-arm64 host: qemu-user-static, arch-test and binfmt_misc, as {@link checkArch} wants them. */
async function arm64(o: DoctorOptions): Promise<DoctorCheck> {
  const base = {
    name: 'arm64 jails (qemu-user + binfmt_misc)',
    required: false,
    neededFor: 'kiln jail create NAME --arch arm64',
  };
  try {
    const mode = await checkArch('arm64', o.hostArch, o.binfmtDir);
    return {
      ...base,
      ok: true,
      detail: mode === 'native' ? 'arm64 runs natively' : 'qemu-aarch64 registered in binfmt_misc with the F flag',
    };
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    return { ...base, ok: false, detail: e.message, fix: (e.hint ?? '').replace(/^as root: /, '') };
  }
}

/** UEFI firmware of qemu's arm64 virt machine (Debian's qemu-efi-aarch64). */
export const AARCH64_FIRMWARE = '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd';

/** qemu-system-aarch64 and its UEFI firmware: what boots an arm64 `--bootable` image (its test). */
async function aarch64Boot(): Promise<DoctorCheck> {
  const missing: string[] = [];
  if (!(await have('qemu-system-aarch64'))) missing.push('qemu-system-arm');
  if (!fs.existsSync(AARCH64_FIRMWARE)) missing.push('qemu-efi-aarch64');
  return {
    name: 'qemu-system-aarch64 + UEFI',
    required: false,
    ok: missing.length === 0,
    detail:
      missing.length === 0
        ? `qemu-system-aarch64 found, firmware ${AARCH64_FIRMWARE}`
        : `missing: ${missing.join(', ')}`,
    ...(missing.length === 0 ? {} : { fix: `apt-get install --no-install-recommends ${missing.join(' ')}` }),
    neededFor: 'booting an arm64 --bootable image to test it',
  };
}

/**
 * Runs every check. Required: root, bwrap, mmdebstrap, setpriv, prlimit, overlayfs, user namespaces, dpkg-deb,
 * gpg. Optional: cgroups (rlimits stand in), redis-server, chromium, arm64 emulation, the image tools, and the
 * emulators that boot `--bootable` images (qemu-system-x86_64; qemu-system-aarch64 with its UEFI firmware).
 */
export async function runDoctor(o: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  for (const c of await checkSandboxHost()) {
    if (c.name.startsWith('binfmt')) continue; // arm64 is checked below, exactly as `kiln jail create` does
    const required = REQUIRED_SANDBOX.has(c.name);
    checks.push({
      name: c.name === 'cgroup' ? 'cgroups' : c.name,
      required,
      ok: c.ok,
      detail: c.detail,
      ...(c.ok || !c.fix
        ? {}
        : {
            fix: c.fix.startsWith('apt-get install ')
              ? c.fix.replace('apt-get install ', 'apt-get install --no-install-recommends ')
              : c.fix,
          }),
      ...(c.name === 'cgroup' ? { neededFor: 'whole-tree memory and CPU limits of builds' } : {}),
    });
  }
  checks.push(await userNamespaces());
  checks.push(await program('dpkg-deb', 'dpkg-deb', 'dpkg', true));
  checks.push(await program('gpg', 'gpg', 'gnupg', true, undefined, ['--version']));
  checks.push(
    await program('redis-server', 'redis-server', 'redis-server', false, 'distributed builds (kiln worker --redis)', [
      '--version',
    ]),
  );
  const chromium = await program('chromium', 'chromium', 'chromium', false, "the live page's browser tests", [
    '--version',
  ]);
  checks.push(chromium);
  checks.push(await arm64(o));
  checks.push(await program('mksquashfs', 'mksquashfs', 'squashfs-tools', false, 'kiln image -t squashfs'));
  checks.push(await program('sfdisk', 'sfdisk', 'fdisk', false, 'kiln image -t raw'));
  checks.push(await program('mkfs.ext4', 'mkfs.ext4', 'e2fsprogs', false, 'kiln image -t raw'));
  checks.push(
    await program(
      'syslinux',
      'syslinux',
      'syslinux syslinux-common mtools dosfstools',
      false,
      'kiln image -t raw --bootable',
    ),
  );
  checks.push(await program('mcopy', 'mcopy', 'mtools', false, 'kiln image -t raw --bootable'));
  checks.push(await program('mkfs.fat', 'mkfs.fat', 'dosfstools', false, 'kiln image -t raw --bootable'));
  checks.push(
    await program(
      'qemu-system-x86_64',
      'qemu-system-x86_64',
      'qemu-system-x86',
      false,
      'booting a --bootable image to test it',
    ),
  );
  checks.push(
    await program('debugfs', 'debugfs', 'e2fsprogs', false, 'byte-identical -t raw images under SOURCE_DATE_EPOCH'),
  );
  checks.push(await aarch64Boot());
  return { checks, ok: checks.every((c) => c.ok || !c.required) };
}

/** The report as text: one line per check (`ok`, `MISSING`, `missing (optional)`), and the fix under each. */
export function formatDoctor(r: DoctorReport): string {
  const width = Math.max(...r.checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of r.checks) {
    const state = c.ok ? 'ok' : c.required ? 'MISSING' : 'missing';
    lines.push(
      `${state.padEnd(8)} ${c.name.padEnd(width)}  ${c.detail}${!c.ok && c.neededFor ? ` (optional: ${c.neededFor})` : ''}`,
    );
    if (!c.ok && c.fix) lines.push(`${''.padEnd(8)} ${''.padEnd(width)}  fix: ${c.fix}`);
  }
  const missing = r.checks.filter((c) => !c.ok && c.required).length;
  lines.push(r.ok ? 'kiln doctor: every required check passed' : `kiln doctor: ${missing} required check(s) failed`);
  return lines.join('\n');
}
