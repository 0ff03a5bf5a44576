/**
 * bench/repo: index generation over N generated `.deb`s (default 10,000), kiln beside `apt-ftparchive packages`
 * on the same files in the same run; then a whole publish (pool store, links, Packages{,.gz,.xz}, signing,
 * switch), cold and re-published with nothing changed. Usage: repo-bench.ts [N]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/util/exec.js';
import { DebCache, parseControl, publish, renderPackages, scanDebs, poolPath, entryIdentity, type PackageEntry } from '../../src/repo/index.js';
import { generateDebs } from './repo-debgen.js';

const n = Number(process.argv[2] ?? 10_000);
const debDir = path.join(os.tmpdir(), `kiln-bench-repo-debs-v1-n${n}`);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-repo-'));

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

function fields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const para of text.split(/\n\n+/).filter((p) => p.trim())) {
    const f = parseControl(para).filter((x) => !['SHA1', 'SHA512', 'Filename'].includes(x.name))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    m.set(f.find((x) => x.name === 'Package')!.value, JSON.stringify(f));
  }
  return m;
}

async function kilnIndex(paths: string[], cache: DebCache): Promise<string> {
  const scanned = await scanDebs(paths, { cache });
  const entries: PackageEntry[] = scanned.map((s) => {
    const id = entryIdentity(s.record.control);
    return { control: s.record.control, filename: poolPath(id.name, id.version, id.arch), size: s.record.size, md5: s.record.md5, sha256: s.record.sha256 };
  });
  return renderPackages(entries);
}

try {
  const gen = await timed(() => generateDebs(debDir, n));
  const paths = fs.readdirSync(debDir).filter((f) => f.endsWith('.deb')).map((f) => path.join(debDir, f));
  console.log(`bench/repo: ${paths.length} generated .debs (control.tar.xz, ~6 KiB each) in ${debDir}`
    + ` (made in ${(gen.ms / 1000).toFixed(1)} s, or reused)`);
  console.log(`host: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`);
  // Warm the page cache once so neither side pays for the first disk read.
  await run('sh', ['-c', `cat "$1"/*.deb > /dev/null`, 'sh', debDir]);

  const ftp = await timed(() => run('apt-ftparchive', ['packages', debDir], { maxBuffer: 1 << 30 }));
  const cold = await timed(() => kilnIndex(paths, new DebCache(path.join(work, 'cache.json'))));
  const coldCache = new DebCache(path.join(work, 'cache.json'));
  await kilnIndex(paths, coldCache); coldCache.save();
  const warm = await timed(() => kilnIndex(paths, new DebCache(path.join(work, 'cache.json'))));

  const a = fields(ftp.value.stdout); const b = fields(cold.value);
  const agree = a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
  const row = (what: string, ms: number): string => `  ${what.padEnd(58)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${(ms * 1000 / n).toFixed(0).padStart(5)} µs/deb`;
  console.log(`\nindex generation (Packages text) over ${n} .debs:`);
  console.log(row('apt-ftparchive packages (MD5, SHA1, SHA256, SHA512)', ftp.ms));
  console.log(row('kiln, cold (read, MD5 + SHA256, control in-process)', cold.ms));
  console.log(row('kiln, warm (per-deb cache by path, size, mtime, inode)', warm.ms));
  console.log(`  fields agree with apt-ftparchive (SHA1/SHA512/Filename aside): ${agree ? 'yes' : 'NO'} (${b.size} vs ${a.size} stanzas)`);

  const home = path.join(work, 'home');
  const debs = paths.map((p) => ({ path: p }));
  const phases: string[][] = [[], []];
  const logTo = (i: number) => (line: string): void => {
    const m = /^=== phase (\S+) done in (\S+) s/.exec(line);
    if (m) phases[i]!.push(`${m[1]} ${m[2]}`);
  };
  const pub1 = await timed(() => publish({ home, jail: 'bookworm', tree: 'bench', arch: 'amd64', debs, log: logTo(0) }));
  const pub2 = await timed(() => publish({ home, jail: 'bookworm', tree: 'bench', arch: 'amd64', debs, log: logTo(1) }));
  console.log(`\nwhole publish (pool store copy + hard links, Packages/.gz/.xz, by-hash, gpg sign, atomic switch):`);
  console.log(row(`first publish (generation ${pub1.value.generation}, cache misses ${pub1.value.cache.misses})`, pub1.ms));
  console.log(row(`re-publish, nothing changed (generation ${pub2.value.generation}, cache hits ${pub2.value.cache.hits})`, pub2.ms));
  console.log(`  phases (s), first:      ${phases[0]!.join(', ')}`);
  console.log(`  phases (s), re-publish: ${phases[1]!.join(', ')}`);
  if (!agree) process.exitCode = 1;
} finally {
  await run('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: path.join(work, 'home', 'keys', 'gnupg') }, allowFailure: true }).catch(() => undefined);
  fs.rmSync(work, { recursive: true, force: true });
}
