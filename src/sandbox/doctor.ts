/** Host checks for sandboxes and jails, for `kiln doctor`: each says what is wrong and what to run. */
import fs from 'node:fs';
import os from 'node:os';
import { have, run } from '../util/exec.js';
import { openCgroup } from './cgroup.js';
import { readMounts } from './mounts.js';
import { idmapHelper } from './userns.js';

/** One check's outcome. */
export interface HostCheck {
  readonly name: string;
  readonly ok: boolean;
  /** What was found. */
  readonly detail: string;
  /** What to do when not ok. */
  readonly fix?: string;
}

/** kiln runs as root (it mounts overlays and switches to the build user). */
function rootCheck(isRoot: boolean): HostCheck {
  return {
    name: 'root',
    ok: isRoot,
    detail: isRoot ? 'running as root' : `running as uid ${process.getuid?.()}`,
    fix: 'run kiln as root (it mounts overlays and switches to the build user)',
  };
}

/** The commands sandboxes and jails run (bwrap, mmdebstrap, setpriv, prlimit); bwrap's check tells its version. */
async function toolChecks(): Promise<HostCheck[]> {
  const out: HostCheck[] = [];
  for (const [cmd, pkg] of [
    ['bwrap', 'bubblewrap'],
    ['mmdebstrap', 'mmdebstrap'],
    ['setpriv', 'util-linux'],
    ['prlimit', 'util-linux'],
  ] as const) {
    const ok = await have(cmd);
    let detail = ok ? `${cmd} found` : `${cmd} not found`;
    if (ok && cmd === 'bwrap') detail = (await run('bwrap', ['--version'], { allowFailure: true })).stdout.trim();
    out.push({ name: cmd, ok, detail, fix: `apt-get install ${pkg}` });
  }
  return out;
}

/** The kernel knows overlayfs (`/proc/filesystems`). */
function overlayCheck(): HostCheck {
  const fsList = fs.readFileSync('/proc/filesystems', 'utf8');
  const overlay = /\toverlay$/m.test(fsList);
  return {
    name: 'overlayfs',
    ok: overlay,
    detail: overlay ? 'overlay in /proc/filesystems' : 'overlay missing from /proc/filesystems',
    fix: 'modprobe overlay',
  };
}

/** A per-sandbox cgroup can be made (as root: one is opened and removed again); without one rlimits stand in. */
async function cgroupCheck(isRoot: boolean): Promise<HostCheck> {
  const probe = isRoot ? openCgroup(`kiln-doctor-${process.pid}`) : null;
  await probe?.remove();
  return {
    name: 'cgroup',
    ok: probe !== null,
    detail: probe
      ? 'per-sandbox cgroups work (process, memory and CPU limits of the whole tree)'
      : 'no writable cgroup: rlimits stand in (per-process CPU, address space, per-user process count)',
    fix: 'give kiln a writable cgroup (cgroup v1 pids/memory/cpuacct, or a delegated cgroup v2 subtree)',
  };
}

/** Root phases run in a user namespace: the idmap helper is there (as root, compiled on first use). */
async function usernsCheck(isRoot: boolean): Promise<HostCheck> {
  const idmap = isRoot ? await idmapHelper() : null;
  return {
    name: 'user namespace (root phases)',
    ok: idmap !== null,
    detail: idmap
      ? `root in a sandbox is an unprivileged host id (idmapped jail via ${idmap})`
      : 'no idmap helper: root in a sandbox is host root (no user namespace)',
    fix: 'apt-get install gcc libc6-dev (kiln compiles a small helper on first use); Linux >= 5.19 for idmapped overlay layers',
  };
}

/** arm64 jails run under emulation: binfmt_misc mounted and qemu-user-static installed. */
function binfmtCheck(): HostCheck {
  const binfmt = readMounts().some((m) => m.fstype === 'binfmt_misc');
  const qemu = fs.existsSync('/usr/bin/qemu-aarch64-static');
  return {
    name: 'binfmt (arm64 jails)',
    ok: binfmt && qemu,
    detail: `binfmt_misc ${binfmt ? 'mounted' : 'not mounted'}, qemu-user-static ${qemu ? 'installed' : 'missing'} (host ${os.arch()})`,
    fix: [
      qemu ? '' : 'apt-get install qemu-user-static binfmt-support',
      binfmt ? '' : 'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc',
      'update-binfmts --enable',
    ]
      .filter(Boolean)
      .join(' && '),
  };
}

/**
 * Checks what sandboxes and jails need: root, bwrap, mmdebstrap, setpriv, prlimit, overlayfs; a writable cgroup
 * (without one rlimits stand in, with coarser limits); binfmt_misc + qemu-user-static for arm64 jails.
 */
export async function checkSandboxHost(): Promise<HostCheck[]> {
  const isRoot = process.getuid?.() === 0;
  return [
    rootCheck(isRoot),
    ...(await toolChecks()),
    overlayCheck(),
    await cgroupCheck(isRoot),
    await usernsCheck(isRoot),
    binfmtCheck(),
  ];
}
