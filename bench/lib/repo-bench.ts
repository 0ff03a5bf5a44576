/**
 * bench/repo: kiln's publish beside the classic pipeline on the same `.deb`s, in alternating rounds:
 *   reference: `apt-ftparchive packages` + `gzip -9` + `xz -6` + `apt-ftparchive release` + `gpg --clearsign` and
 *              `gpg --detach-sign` (with kiln's own key), one after the other, as a shell script does it;
 *   kiln:      a first publish into an empty repository, a republish with one package changed (one .deb replaced by
 *              another), and a republish with nothing changed.
 * The .debs are real ones: N (default 1461) from REPO_DEBS_DIR (default /var/cache/apt/archives), hard-linked into a
 * work folder; when fewer are there, generated ones (bench/lib/repo-debgen.ts). Prints each time, the ratios
 * kiln / reference (median of the rounds) and the load (uptime) before and after.
 * Usage: repo-bench.ts [N] [ROUNDS]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/util/exec.js';
import type * as Repo from '../../src/repo/index.js';
import { generateDebs } from './repo-debgen.js';

// kiln as users run it: the compiled modules (bench/repo builds them), so its reader threads start as plain JS
// rather than compiling TypeScript through tsx each (which costs a second of CPU per thread).
const dist = new URL('../../dist/repo/index.js', import.meta.url);
const repo = (await import(
  fs.existsSync(fileURLToPath(dist)) && !process.env.KILN_BENCH_SRC ? dist.href : '../../src/repo/index.js'
)) as typeof Repo;
const { parseControl, publish } = repo;

const n = Number(process.argv[2] ?? 1461);
const rounds = Number(process.argv[3] ?? 3);
const source = process.env.REPO_DEBS_DIR ?? '/var/cache/apt/archives';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-repo-'));

/** CPU seconds of this process (all its threads) and of its waited-for children, from /proc/self/stat. */
function cpuSeconds(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14), in clock ticks (100 per second).
  return [11, 12, 13, 14].reduce((a, i) => a + Number(f[i]), 0) / 100;
}

/** Wall and CPU seconds (the process's threads and children) of `fn`. */
async function timed<T>(fn: () => Promise<T> | T): Promise<{ s: number; cpu: number; value: T }> {
  const t = process.hrtime.bigint();
  const c = cpuSeconds();
  const value = await fn();
  return { s: Number(process.hrtime.bigint() - t) / 1e9, cpu: cpuSeconds() - c, value };
}

const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** N real .debs (hard links, so the bench changes nothing in the source) plus one spare to swap in; else generated. */
async function inputs(): Promise<{ dir: string; debs: string[]; spare: string; real: boolean }> {
  const names = fs.existsSync(source)
    ? fs
        .readdirSync(source)
        .filter((f) => f.endsWith('.deb'))
        .sort()
    : [];
  if (names.length > n) {
    const dir = path.join(work, 'debs');
    fs.mkdirSync(dir);
    for (const f of names.slice(0, n + 1)) {
      try {
        fs.linkSync(path.join(source, f), path.join(dir, f));
      } catch {
        fs.copyFileSync(path.join(source, f), path.join(dir, f));
      }
    }
    const all = names.slice(0, n + 1).map((f) => path.join(dir, f));
    return { dir, debs: all.slice(0, n), spare: all[n]!, real: true };
  }
  const dir = path.join(os.tmpdir(), `kiln-bench-repo-debs-v1-n${n + 1}`);
  await generateDebs(dir, n + 1);
  const all = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.deb'))
    .sort()
    .map((f) => path.join(dir, f));
  return { dir, debs: all.slice(0, n), spare: all[n]!, real: false };
}

/** The reference pipeline over `pool` (a folder holding the .debs), signing with the key in `gnupgHome`. */
async function reference(pool: string, out: string, gnupgHome: string): Promise<{ s: number; cpu: number }> {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const script = [
    'set -e',
    'cd "$2"',
    'apt-ftparchive packages "$1" > Packages',
    'gzip -9 -c Packages > Packages.gz',
    'xz -6 -c Packages > Packages.xz',
    'apt-ftparchive release . > Release',
    'gpg --batch --yes -q --clearsign -o InRelease Release',
    'gpg --batch --yes -q --armor --detach-sign -o Release.gpg Release',
  ].join('\n');
  const t = await timed(() =>
    run('sh', ['-c', script, 'sh', pool, out], {
      env: { ...process.env, GNUPGHOME: gnupgHome },
      timeoutMs: 30 * 60_000,
    }),
  );
  return { s: t.s, cpu: t.cpu };
}

function packagesCount(file: string): number {
  return fs
    .readFileSync(file, 'utf8')
    .split(/\n\n+/)
    .filter((p) => parseControl(p).length > 0).length;
}

try {
  const loadBefore = load();
  const { dir, debs, spare, real } = await inputs();
  const bytes = debs.reduce((a, f) => a + fs.statSync(f).size, 0);
  console.log(
    `bench/repo: ${debs.length} ${real ? `real .debs from ${source}` : 'generated .debs'} (${(bytes / 2 ** 30).toFixed(2)} GiB),` +
      ` ${rounds} alternating rounds; host ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`,
  );
  console.log(
    `load before: ${loadBefore}; kiln from ${process.env.KILN_BENCH_SRC || !fs.existsSync(fileURLToPath(dist)) ? 'src (tsx)' : 'dist (compiled)'}`,
  );
  // The reference indexes a folder: the N .debs alone (the spare aside).
  const pool = path.join(work, 'ref-pool');
  fs.mkdirSync(pool);
  for (const f of debs) fs.linkSync(f, path.join(pool, path.basename(f)));
  await run('sh', ['-c', 'cat "$1"/*.deb > /dev/null', 'sh', pool]);
  const home = path.join(work, 'home');
  // Make kiln's key once (not timed): both sides sign with it.
  await publish({ home, jail: 'bench', tree: 'probe', arch: 'amd64', debs: [], validDays: 0, debugSymbols: false });
  const gnupgHome = path.join(home, 'keys', 'gnupg');
  const changed = [...debs.slice(1), spare];
  const rows: Record<string, number[]> = { reference: [], first: [], oneChanged: [], nothingChanged: [] };
  const cpu: Record<string, number[]> = { reference: [], first: [], oneChanged: [], nothingChanged: [] };
  const phases: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const refRun = await reference(pool, path.join(work, 'ref-out'), gnupgHome);
    rows.reference!.push(refRun.s);
    cpu.reference!.push(refRun.cpu);
    fs.rmSync(path.join(home, 'repos'), { recursive: true, force: true });
    const base = { home, jail: 'bench', tree: 'b', arch: 'amd64', validDays: 0, debugSymbols: false } as const;
    const log =
      (tag: string) =>
      (line: string): void => {
        const m = /^=== phase (\S+) done in (\S+) s/.exec(line);
        if (m && r === 0) phases.push(`${tag}:${m[1]}=${m[2]}`);
      };
    const first = await timed(() => publish({ ...base, debs: debs.map((p) => ({ path: p })), log: log('first') }));
    rows.first!.push(first.s);
    cpu.first!.push(first.cpu);
    const one = await timed(() => publish({ ...base, debs: changed.map((p) => ({ path: p })), log: log('one') }));
    rows.oneChanged!.push(one.s);
    cpu.oneChanged!.push(one.cpu);
    const none = await timed(() => publish({ ...base, debs: changed.map((p) => ({ path: p })) }));
    rows.nothingChanged!.push(none.s);
    cpu.nothingChanged!.push(none.cpu);
    console.log(
      `round ${r + 1}: reference ${refRun.s.toFixed(2)} s (cpu ${refRun.cpu.toFixed(2)}); kiln first ${first.s.toFixed(2)} s (cpu ${first.cpu.toFixed(2)})` +
        ` (misses ${first.value.cache.misses}), one changed ${one.s.toFixed(2)} s (cpu ${one.cpu.toFixed(2)}, misses ${one.value.cache.misses}),` +
        ` nothing changed ${none.s.toFixed(2)} s; load ${load()}`,
    );
  }
  const ref = median(rows.reference!);
  const bin = path.join(home, 'repos', 'bench-b', 'current', 'dists', 'bench', 'main', 'binary-amd64');
  const size = (f: string): number => fs.statSync(path.join(bin, f)).size;
  const refCpu = median(cpu.reference!);
  console.log(
    `\nmedians over ${rounds} rounds: wall s (ratio kiln / reference), CPU s of all threads and children (ratio):`,
  );
  console.log(
    `  ${'reference (apt-ftparchive packages + gzip + xz + release + gpg x2)'.padEnd(68)} ${ref.toFixed(2).padStart(7)}          cpu ${refCpu.toFixed(2).padStart(6)}`,
  );
  for (const [k, what] of [
    ['first', 'kiln first publish'],
    ['oneChanged', 'kiln republish, one package changed'],
    ['nothingChanged', 'kiln republish, nothing changed'],
  ] as const) {
    const m = median(rows[k]!);
    const c = median(cpu[k]!);
    console.log(
      `  ${what.padEnd(68)} ${m.toFixed(2).padStart(7)} (${(m / ref).toFixed(3)})  cpu ${c.toFixed(2).padStart(6)} (${(c / refCpu).toFixed(3)})`,
    );
  }
  console.log(
    `  Packages ${size('Packages')} bytes (${packagesCount(path.join(bin, 'Packages'))} stanzas), Packages.gz ${size('Packages.gz')}, Packages.xz ${size('Packages.xz')};` +
      ` the reference's Packages.xz ${fs.statSync(path.join(work, 'ref-out', 'Packages.xz')).size}`,
  );
  console.log(`  kiln phases, round 1: ${phases.join(' ')}`);
  console.log(`load after: ${load()}`);
  void dir;
} finally {
  await run('gpgconf', ['--kill', 'gpg-agent'], {
    env: { ...process.env, GNUPGHOME: path.join(work, 'home', 'keys', 'gnupg') },
    allowFailure: true,
  }).catch(() => undefined);
  fs.rmSync(work, { recursive: true, force: true });
}
