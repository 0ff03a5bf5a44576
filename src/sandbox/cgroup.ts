/**
 * Per-sandbox control groups: a process-count cap (fork bombs), a memory cap, CPU time of the whole tree, and
 * a way to kill every process of a sandbox. Works on cgroup v1 (pids, memory, cpuacct hierarchies) and on
 * cgroup v2 where the controllers can be delegated below kiln's own group. Where neither is writable,
 * {@link openCgroup} returns null and the sandbox falls back to rlimits (`prlimit`).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LimitName, Limits } from './limits.js';

/** One controller folder of a sandbox's cgroup. */
interface Dir {
  readonly ctl: 'pids' | 'memory' | 'cpu';
  readonly dir: string;
}

/** A sandbox's cgroup (one folder per v1 hierarchy, or one v2 folder). */
export interface Cgroup {
  /** Folders to write a pid into (`cgroup.procs`) to put it in the group. */
  readonly procsDirs: readonly string[];
  /** Sets the limits for the next command and takes the counters' baseline. */
  arm(l: Limits): void;
  /** The limit hit since {@link arm}, if any (nproc, memory or cpu). */
  hit(l: Limits): LimitName | null;
  /** CPU time used since {@link arm}, ms (0 if unknown). */
  cpuMs(): number;
  /** SIGKILLs every process in the group (bounded rounds). */
  killAll(): void;
  /** Kills everything and removes the folders. Idempotent. */
  remove(): Promise<void>;
}

const V1_ROOT = '/sys/fs/cgroup';

function readNum(file: string, key?: string): number {
  try {
    const t = fs.readFileSync(file, 'utf8');
    if (key === undefined) return Number(t.trim()) || 0;
    const m = new RegExp(`^${key} (\\d+)`, 'm').exec(t);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function tryWrite(file: string, value: string): boolean {
  try {
    fs.writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

/** The group kiln itself is in, per v1 controller (`memory` → `/process_api/x`) and for v2 (`''`). */
function ownGroups(): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, ctls, p] = line.split(':');
    if (ctls === undefined || p === undefined) continue;
    for (const c of ctls.split(',')) m.set(c, p);
  }
  return m;
}

/** Makes `NAME` under each writable v1 hierarchy; null if pids is not available. */
function openV1(name: string): Dir[] | null {
  const own = ownGroups();
  const dirs: Dir[] = [];
  for (const [ctl, mount] of [
    ['pids', 'pids'],
    ['memory', 'memory'],
    ['cpu', 'cpuacct'],
  ] as const) {
    const base = path.join(V1_ROOT, mount);
    if (!fs.existsSync(path.join(base, 'cgroup.procs'))) continue;
    const dir = path.join(base, own.get(mount) ?? '/', name);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch {
      continue;
    }
    dirs.push({ ctl, dir });
  }
  if (!dirs.some((d) => d.ctl === 'pids')) {
    for (const d of dirs)
      try {
        fs.rmdirSync(d.dir);
      } catch {
        /* */
      }
    return null;
  }
  return dirs;
}

/** Makes `NAME` in cgroup v2 below kiln's parent group when pids can be delegated there; else null. */
function openV2(name: string): Dir[] | null {
  if (!fs.existsSync(path.join(V1_ROOT, 'cgroup.controllers'))) return null;
  const own = ownGroups().get('') ?? '/';
  // kiln's own group holds processes, so it cannot have controlled children: use a sibling `kiln` group.
  const base = path.join(V1_ROOT, path.dirname(own), 'kiln.sandboxes');
  try {
    fs.mkdirSync(base, { recursive: true });
  } catch {
    return null;
  }
  tryWrite(path.join(path.dirname(base), 'cgroup.subtree_control'), '+pids +memory +cpu');
  tryWrite(path.join(base, 'cgroup.subtree_control'), '+pids +memory +cpu');
  const dir = path.join(base, name);
  try {
    fs.mkdirSync(dir);
  } catch {
    return null;
  }
  if (!fs.existsSync(path.join(dir, 'pids.max'))) {
    try {
      fs.rmdirSync(dir);
    } catch {
      /* */
    }
    return null;
  }
  return [
    { ctl: 'pids', dir },
    { ctl: 'memory', dir },
    { ctl: 'cpu', dir },
  ];
}

/** A sandbox's open cgroup: its folders, each controller's folder (if any), and whether it is cgroup v2. */
interface Groups {
  readonly all: readonly Dir[];
  readonly v2: boolean;
  readonly pids: string | undefined;
  readonly mem: string | undefined;
  readonly cpu: string | undefined;
}

/** What limit hits and CPU time are read from: forks refused by `pids.max`, OOM kills, CPU time in ns. */
interface Counters {
  readonly pidsHit: number;
  readonly oom: number;
  readonly cpuNs: number;
}

/** Makes sandbox `name`'s folders: cgroup v1 (unless the host is on v2), else v2; null when neither is writable. */
function openGroups(name: string): Groups | null {
  let v2 = false;
  let dirs = fs.existsSync(path.join(V1_ROOT, 'cgroup.controllers')) ? null : openV1(name);
  if (dirs === null) {
    dirs = openV2(name);
    v2 = dirs !== null;
  }
  if (dirs === null) return null;
  const all = dirs;
  const get = (c: Dir['ctl']): string | undefined => all.find((d) => d.ctl === c)?.dir;
  return { all, v2, pids: get('pids'), mem: get('memory'), cpu: get('cpu') };
}

/** The group's {@link Counters} now (0 for a controller it lacks or a file it cannot read). */
function readCounters(g: Groups): Counters {
  const { pids, mem, cpu, v2 } = g;
  return {
    pidsHit: pids ? readNum(path.join(pids, 'pids.events'), 'max') : 0,
    oom: mem
      ? v2
        ? readNum(path.join(mem, 'memory.events'), 'oom_kill')
        : readNum(path.join(mem, 'memory.oom_control'), 'oom_kill')
      : 0,
    cpuNs: cpu
      ? v2
        ? readNum(path.join(cpu, 'cpu.stat'), 'usage_usec') * 1000
        : readNum(path.join(cpu, 'cpuacct.usage'))
      : 0,
  };
}

/** The pids in any of the group's folders. */
function groupProcs(g: Groups): number[] {
  const s = new Set<number>();
  for (const d of g.all) {
    try {
      for (const x of fs.readFileSync(path.join(d.dir, 'cgroup.procs'), 'utf8').split('\n')) if (x) s.add(Number(x));
    } catch {
      /* gone */
    }
  }
  return [...s];
}

/** Writes limits `l` into the group's controllers (an unset limit: none; on v2 a memory cap also forbids swap). */
function writeLimits(g: Groups, l: Limits): void {
  const { pids, mem, v2 } = g;
  if (pids) tryWrite(path.join(pids, 'pids.max'), l.nproc === undefined ? 'max' : String(l.nproc));
  if (mem) {
    if (v2) tryWrite(path.join(mem, 'memory.max'), l.memoryBytes === undefined ? 'max' : String(l.memoryBytes));
    else tryWrite(path.join(mem, 'memory.limit_in_bytes'), l.memoryBytes === undefined ? '-1' : String(l.memoryBytes));
    if (v2) tryWrite(path.join(mem, 'memory.swap.max'), l.memoryBytes === undefined ? 'max' : '0');
  }
}

/** SIGKILLs every process in the group: v2's `cgroup.kill`, else no new forks (`pids.max` 0) and up to 20 rounds. */
function killGroup(g: Groups): void {
  const { pids, v2 } = g;
  if (v2 && pids && tryWrite(path.join(pids, 'cgroup.kill'), '1')) return;
  if (pids) tryWrite(path.join(pids, 'pids.max'), '0'); // no new forks while we kill
  for (let round = 0; round < 20; round++) {
    const list = groupProcs(g);
    if (list.length === 0) return;
    for (const p of list) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/**
 * Kills the group and removes its folders (last opened first), killing again and retrying (50 times, 10 ms apart)
 * while one is busy; true when every folder is gone.
 */
async function removeGroups(g: Groups): Promise<boolean> {
  killGroup(g);
  for (const d of [...g.all].reverse()) {
    for (let i = 0; i < 50; i++) {
      try {
        fs.rmdirSync(d.dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
        killGroup(g);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
  return !g.all.some((d) => fs.existsSync(d.dir));
}

/** Opens a cgroup for sandbox `name` (v1 or v2), or null when cgroups are not writable here. */
export function openCgroup(name: string): Cgroup | null {
  const g = openGroups(name);
  if (g === null) return null;
  let base: Counters = { pidsHit: 0, oom: 0, cpuNs: 0 };
  let removed = false;
  return {
    procsDirs: [...new Set(g.all.map((d) => d.dir))],
    arm(l) {
      writeLimits(g, l);
      base = readCounters(g);
    },
    hit(l) {
      const now = readCounters(g);
      if (now.pidsHit > base.pidsHit) return 'nproc';
      if (now.oom > base.oom) return 'memory';
      if (l.cpuSeconds !== undefined && now.cpuNs - base.cpuNs > l.cpuSeconds * 1e9) return 'cpu';
      return null;
    },
    cpuMs() {
      return Math.max(0, Math.round((readCounters(g).cpuNs - base.cpuNs) / 1e6));
    },
    killAll() {
      killGroup(g);
    },
    async remove() {
      if (removed) return;
      removed = await removeGroups(g);
    },
  };
}

/** Removes kiln sandbox cgroups named `kiln-*` whose sandbox is gone (`isLive(name)` false). */
export function removeStaleCgroups(isLive: (name: string) => boolean): string[] {
  const removed: string[] = [];
  const own = ownGroups();
  const parents = new Set<string>();
  for (const mount of ['pids', 'memory', 'cpuacct']) parents.add(path.join(V1_ROOT, mount, own.get(mount) ?? '/'));
  parents.add(path.join(V1_ROOT, path.dirname(own.get('') ?? '/'), 'kiln.sandboxes'));
  for (const parent of parents) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(parent).filter((n) => n.startsWith('kiln-'));
    } catch {
      continue;
    }
    for (const n of names) {
      if (isLive(n)) continue;
      const dir = path.join(parent, n);
      try {
        for (const x of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n'))
          if (x)
            try {
              process.kill(Number(x), 'SIGKILL');
            } catch {
              /* */
            }
        fs.rmdirSync(dir);
        removed.push(dir);
      } catch {
        /* still busy; a later cleanup retries */
      }
    }
  }
  return removed;
}
