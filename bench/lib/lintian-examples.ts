/**
 * Builds the bundled example tree (examples/ports, every port of examples/pkglist.txt and their dependencies) in
 * the shared test jail with buildPort, then runs lintian on every `.deb` and prints the counts by severity and tag.
 * Usage: npx tsx bench/lib/lintian-examples.ts [OUTDIR]   (OUTDIR keeps the .debs and logs; default: a temp folder)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPort, effectiveOptions } from '../../src/recipe/index.js';
import { testJail, testCacheDir } from '../../src/jail/index.js';
import { hostMirror } from '../../src/debian/index.js';
import { buildPort, kilnRunDeps, kilnSonameMap, type BuiltPackage } from '../../src/build/index.js';
import { debVersion, runLintian, lintianCounts, portSourceDateEpoch } from '../../src/package/index.js';

/** The Maintainer written into the packages (kiln.yaml `maintainer` in a real bulk). */
const MAINTAINER = 'Kiln Example Builder <kiln-examples@example.org>';
const ORDER = [
  'devel/libmd',
  'devel/libbsd',
  'security/signify-openbsd',
  'misc/hello',
  'textproc/cjson',
  'textproc/serd',
  'sysutils/tree',
];
const repo = path.resolve(import.meta.dirname, '../..');
const home = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-lintian-'));
fs.mkdirSync(home, { recursive: true });
const cache = path.join(testCacheDir(), 'distfiles');
fs.mkdirSync(cache, { recursive: true });
if (!fs.existsSync(path.join(home, 'distfiles'))) fs.symlinkSync(cache, path.join(home, 'distfiles'));
const jail = await testJail();
const built: BuiltPackage[] = [];
const debs: string[] = [];
const t0 = Date.now();
for (const origin of ORDER) {
  const r = loadPort(path.join(repo, 'examples/ports', origin), origin, 'examples/ports');
  if (!r.port) throw new Error(JSON.stringify(r.problems));
  const p = r.port;
  const res = await buildPort({
    home,
    jail: { name: jail.name, path: jail.path, arch: jail.arch, release: jail.release },
    port: p,
    identity: 'f'.repeat(64),
    options: effectiveOptions(p.recipe, {}),
    depDebs: built.flatMap((b) => b.debs ?? [b.deb]),
    kilnRun: kilnRunDeps(built.filter((b) => p.recipe.depends.run.includes(b.origin))),
    kilnSonames: await kilnSonameMap(built),
    jobs: 2,
    limits: { wallMs: 15 * 60_000, noOutputMs: 5 * 60_000, nproc: 4096 },
    outDir: path.join(home, 'out'),
    logFile: path.join(home, 'logs', `${origin.replace('/', '_')}.log`),
    sourceDateEpoch: await portSourceDateEpoch(p.dir),
    debianMirror: hostMirror(),
    maintainer: MAINTAINER,
  });
  if (!res.ok) throw new Error(`${origin} failed in ${res.phase}: ${res.reason}`);
  built.push({
    origin,
    pkgname: p.pkgname,
    version: debVersion(p.recipe.version, p.recipe.revision),
    deb: res.debs[0]!,
    debs: res.debs,
  });
  debs.push(...res.debs, ...(res.debugDebs ?? []));
  process.stdout.write(
    `built ${origin}: ${[...res.debs, ...(res.debugDebs ?? [])].map((d) => path.basename(d)).join(' ')}\n`,
  );
}
process.stdout.write(
  `built ${ORDER.length} ports in ${Math.round((Date.now() - t0) / 1000)} s; lintian on ${debs.length} .debs\n`,
);
const tags = await runLintian(debs);
const counts = lintianCounts(tags);
for (const [k, n] of counts) process.stdout.write(`${String(n).padStart(5)} ${k}\n`);
fs.writeFileSync(path.join(home, 'lintian.txt'), tags.map((t) => t.line).join('\n') + '\n');
process.stdout.write(`lintian output: ${path.join(home, 'lintian.txt')}\n`);
