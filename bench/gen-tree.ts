/**
 * A seeded generator of realistic ports trees for the benches: N valid `CAT/NAME/port.yaml` recipes
 * (~25 lines each, with sources and sha256, options on some), ~7 dependency edges per port on average,
 * acyclic, shaped like a real tree: a few hub libraries almost everything needs, long chains, many leaves.
 * It also writes `durations.json` ({origin: seconds}, heavy-tailed: most ports 10–120 s, a few 1–3 h) for
 * the scheduler bench, and `.kiln-gen.json` with the parameters and the graph's figures.
 *
 * With `--cycles K` it adds K back edges (dependency cycles) for the cycles bench (`bench/cycles`).
 *
 * Usage: npx tsx bench/gen-tree.ts --ports N [--seed S] [--cycles K] (--out DIR | --cache ROOT)
 * The same (ports, seed) always writes the same bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { prng } from '../src/util/prng.js';

/** Version of the generator's output; part of cache keys (bump when the output changes). */
export const GEN_VERSION = 1;

/** Parameters of {@link generateTree}. */
export interface GenOptions {
  /** Number of ports. */
  readonly ports: number;
  /** PRNG seed. */
  readonly seed: number;
  /** Folder to write into (created; must be empty or absent). */
  readonly out: string;
  /** Dependency cycles to add (default 0: acyclic); see {@link addCycles}. */
  readonly cycles?: number;
}

/** What {@link generateTree} wrote. */
export interface GenSummary {
  readonly ports: number;
  readonly seed: number;
  /** Distinct dependency edges (build ∪ run, per port). */
  readonly edges: number;
  /** Longest dependency chain, in ports. */
  readonly depth: number;
  /** Ports nothing depends on. */
  readonly leaves: number;
  /** Sum of durations, seconds. */
  readonly workS: number;
  /** Longest chain weighted by durations, seconds. */
  readonly criticalPathS: number;
  readonly genVersion: number;
  /** Back edges added (each closes at least one cycle); absent for an acyclic tree. */
  readonly cycles?: number;
}

export { prng };

const CATEGORIES = [
  'devel',
  'lib',
  'net',
  'www',
  'x11',
  'graphics',
  'audio',
  'multimedia',
  'databases',
  'security',
  'sysutils',
  'textproc',
  'editors',
  'shells',
  'lang',
  'math',
  'science',
  'games',
  'mail',
  'print',
  'archivers',
  'converters',
  'dns',
  'ftp',
  'irc',
  'japanese',
  'misc',
  'net-mgmt',
  'news',
  'ports-mgmt',
  'benchmarks',
  'cad',
  'comms',
  'deskutils',
  'emulators',
  'finance',
  'ham',
  'java',
  'x11-fonts',
  'x11-toolkits',
];
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'nu',
  're',
  'si',
  'to',
  'va',
  'ze',
  'bri',
  'cor',
  'dex',
  'fen',
  'gal',
  'hox',
  'jin',
  'pax',
  'qui',
  'rho',
  'tyl',
];
const SYSTEMS = ['autotools', 'autotools', 'autotools', 'cmake', 'cmake', 'meson', 'make', 'script'] as const;
const LICENSES = [
  'MIT',
  'BSD-2-Clause',
  'GPL-2.0-or-later',
  'GPL-3.0-or-later',
  'Apache-2.0',
  'LGPL-2.1-or-later',
  'ISC',
];
const SYSTEM_PKGS = ['pkg-config', 'libc6-dev', 'zlib1g-dev', 'libssl-dev', 'gettext', 'bison', 'flex', 'python3'];
const OPTIONS = ['NLS', 'DOCS', 'EXAMPLES', 'IPV6', 'THREADS', 'SSL', 'X11', 'DEBUG'];

/** Heavy-tailed build time: most 10–120 s (log-uniform), ~4% 2–20 min, ~0.5% 1–3 h; hubs run longer. */
function duration(rand: () => number, hub: boolean): number {
  const r = rand();
  if (r < (hub ? 0.15 : 0.005)) return Math.round(3600 + rand() * 7200);
  if (r < (hub ? 0.5 : 0.045)) return Math.round(120 + rand() * 1080);
  return Math.round(10 * Math.pow(12, rand()));
}

/**
 * The graph: node i may depend only on nodes < i (acyclic by construction). About a third of the ports are
 * libraries (anything may depend on them); the rest are applications, which nothing depends on (the
 * leaves). Hubs (the first ~0.2%) are chained among themselves; every other port picks ~7 dependencies: a
 * hub by a Zipf law (45%), a recent library (10%, which makes long chains), or any earlier library (45%).
 * About 5% have no dependencies.
 */
function makeGraph(n: number, rand: () => number): { hubs: number; deps: number[][] } {
  const hubs = Math.max(4, Math.min(n, Math.round(n / 500)));
  const zipf: number[] = [];
  let total = 0;
  for (let h = 0; h < hubs; h++) {
    total += 1 / (h + 1);
    zipf.push(total);
  }
  const pickHub = (limit: number): number => {
    const x = rand() * zipf[Math.min(limit, hubs) - 1]!;
    let lo = 0;
    let hi = Math.min(limit, hubs) - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (zipf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const libs: number[] = [];
  const deps: number[][] = [];
  for (let i = 0; i < n; i++) {
    const set = new Set<number>();
    if (i < hubs) {
      for (let k = 0; k < Math.min(i, 1 + Math.floor(rand() * 3)); k++)
        set.add(i - 1 - Math.floor(rand() * Math.min(i, 4)));
    } else if (rand() >= 0.05) {
      const want = Math.min(libs.length, 1 + Math.floor(-Math.log(1 - rand()) * RAND_MEAN_DEPS));
      for (let tries = 0; set.size < want && tries < want * 4; tries++) {
        const r = rand();
        if (r < 0.45) set.add(pickHub(i));
        else if (r < 0.55) set.add(libs[libs.length - 1 - Math.floor(rand() * Math.min(libs.length, 1000))]!);
        else set.add(libs[Math.floor(rand() * libs.length)]!);
      }
    }
    deps.push([...set].sort((a, b) => a - b));
    if (i < hubs || rand() < 0.35) libs.push(i);
  }
  return { hubs, deps };
}

/**
 * Adds `k` back edges to the acyclic graph, each closing a cycle: a random library port that has dependencies
 * is walked down 1–6 dependency steps to a port that then also depends on it. Uses its own PRNG stream, so a tree
 * without cycles keeps its bytes.
 */
function addCycles(deps: number[][], k: number, seed: number): void {
  const rand = prng(seed * 7919 + k);
  const n = deps.length;
  for (let added = 0, tries = 0; added < k && tries < k * 50; tries++) {
    const start = Math.floor(rand() * n);
    if (deps[start]!.length === 0) continue;
    let at = start;
    const steps = 1 + Math.floor(rand() * 6);
    for (let s = 0; s < steps && deps[at]!.length > 0; s++) at = deps[at]![Math.floor(rand() * deps[at]!.length)]!;
    if (at === start || deps[at]!.includes(start)) continue;
    deps[at] = [...deps[at]!, start].sort((a, b) => a - b);
    added++;
  }
}

/** Mean of the exponential part of a port's dependency count (tuned for ~7 distinct edges per port). */
const RAND_MEAN_DEPS = 7.0;

function hex(rand: () => number, seed: string): string {
  return createHash('sha256').update(`${seed}:${rand()}`).digest('hex');
}

function recipe(i: number, name: string, build: string[], run: string[], rand: () => number): string {
  const version = `${1 + Math.floor(rand() * 9)}.${Math.floor(rand() * 20)}.${Math.floor(rand() * 10)}`;
  const system = SYSTEMS[Math.floor(rand() * SYSTEMS.length)]!;
  const lines = [
    `# generated by bench/gen-tree.ts (port ${i})`,
    `version: "${version}"`,
    `summary: Generated port ${name} for benchmarks`,
    'description: |',
    `  ${name} exists to give kiln's scanner, planner and scheduler`,
    '  a tree of realistic size and shape.',
    `homepage: https://example.org/${name}/`,
    `license: ${LICENSES[Math.floor(rand() * LICENSES.length)]}`,
    'revision: 1',
    'sources:',
    `  - url: https://example.org/dist/${name}-${version}.tar.gz`,
    `    sha256: ${hex(rand, name)}`,
    'depends:',
    `  build: [${build.join(', ')}]`,
    `  run: [${run.join(', ')}]`,
    `  system: [${SYSTEM_PKGS[Math.floor(rand() * SYSTEM_PKGS.length)]}]`,
  ];
  if (rand() < 0.2) {
    const opt = OPTIONS[Math.floor(rand() * OPTIONS.length)]!;
    lines.push(
      'options:',
      `  ${opt}:`,
      `    default: ${rand() < 0.5}`,
      `    description: ${opt} support`,
      `    configure_args: {on: [--enable-${opt.toLowerCase()}], off: [--disable-${opt.toLowerCase()}]}`,
    );
  }
  lines.push('build:', `  system: ${system}`);
  if (system === 'script') lines.push('  script: ./build.sh --prefix=/usr && make install DESTDIR="$DESTDIR"');
  else lines.push('  configure_args: [--disable-static]');
  lines.push('  make_args: [V=1]', '  env: {CFLAGS: "-O2"}', '  test: make check');
  return `${lines.join('\n')}\n`;
}

/** Writes the tree, `durations.json` and `.kiln-gen.json` into `opts.out`; returns the figures. */
export function generateTree(opts: GenOptions): GenSummary {
  const rand = prng(opts.seed);
  const n = opts.ports;
  const { hubs, deps } = makeGraph(n, rand);
  const cycles = opts.cycles ?? 0;
  // The acyclic figures below (depth, critical path) are of the graph before the back edges.
  const acyclic = cycles > 0 ? deps.map((d) => d.slice()) : deps;
  if (cycles > 0) addCycles(deps, cycles, opts.seed);
  // Names: shuffled so that the graph order does not follow origin order.
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const origins = perm.map((p, i) => {
    const cat = i < hubs ? (i % 2 === 0 ? 'lib' : 'devel') : CATEGORIES[p % CATEGORIES.length]!;
    const word = SYLLABLES[p % SYLLABLES.length]! + SYLLABLES[Math.floor(p / SYLLABLES.length) % SYLLABLES.length]!;
    return `${cat}/${word}${p.toString(36)}`;
  });
  fs.mkdirSync(opts.out, { recursive: true });
  const durations: Record<string, number> = {};
  const dur = new Float64Array(n);
  let edges = 0;
  for (let i = 0; i < n; i++) {
    const build: string[] = [];
    const run: string[] = [];
    for (const d of deps[i]!) {
      const r = rand();
      if (r < 0.6) build.push(origins[d]!);
      else if (r < 0.85) run.push(origins[d]!);
      else {
        build.push(origins[d]!);
        run.push(origins[d]!);
      }
    }
    edges += deps[i]!.length;
    const origin = origins[i]!;
    const dir = path.join(opts.out, origin);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'port.yaml'), recipe(i, origin.split('/')[1]!, build, run, rand));
    dur[i] = duration(rand, i < hubs);
    durations[origin] = dur[i]!;
  }
  const depth = new Int32Array(n);
  const cp = new Float64Array(n);
  const hasDependents = new Uint8Array(n);
  let maxDepth = 0;
  let maxCp = 0;
  let work = 0;
  for (let i = 0; i < n; i++) {
    let d = 0;
    let c = 0;
    for (const j of acyclic[i]!) {
      hasDependents[j] = 1;
      if (depth[j]! > d) d = depth[j]!;
      if (cp[j]! > c) c = cp[j]!;
    }
    depth[i] = d + 1;
    cp[i] = c + dur[i]!;
    if (depth[i]! > maxDepth) maxDepth = depth[i]!;
    if (cp[i]! > maxCp) maxCp = cp[i]!;
    work += dur[i]!;
  }
  let leaves = 0;
  for (let i = 0; i < n; i++) if (!hasDependents[i]) leaves++;
  const sorted = Object.fromEntries(Object.entries(durations).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  fs.writeFileSync(path.join(opts.out, 'durations.json'), `${JSON.stringify(sorted)}\n`);
  const summary: GenSummary = {
    ports: n,
    seed: opts.seed,
    edges,
    depth: maxDepth,
    leaves,
    workS: work,
    criticalPathS: maxCp,
    genVersion: GEN_VERSION,
    ...(cycles > 0 ? { cycles } : {}),
  };
  fs.writeFileSync(path.join(opts.out, '.kiln-gen.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/**
 * The cached tree for (ports, seed) under `cacheRoot` (default /tmp): generated once into a temporary
 * folder and renamed into place, so a half-written tree is never used.
 */
export function cachedTree(
  ports: number,
  seed: number,
  cacheRoot = '/tmp',
  cycles = 0,
): { dir: string; summary: GenSummary } {
  const dir = path.join(
    cacheRoot,
    `kiln-bench-tree-v${GEN_VERSION}-n${ports}-s${seed}${cycles > 0 ? `-c${cycles}` : ''}`,
  );
  const meta = path.join(dir, '.kiln-gen.json');
  if (fs.existsSync(meta)) return { dir, summary: JSON.parse(fs.readFileSync(meta, 'utf8')) as GenSummary };
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  const summary = generateTree({ ports, seed, out: tmp, cycles });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return { dir, summary };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      ports: { type: 'string' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      cache: { type: 'string' },
      cycles: { type: 'string', default: '0' },
    },
  });
  const ports = Number(values.ports);
  const cycles = Number(values.cycles);
  if (
    !Number.isInteger(ports) ||
    ports < 1 ||
    !Number.isInteger(cycles) ||
    cycles < 0 ||
    (values.out === undefined) === (values.cache === undefined)
  ) {
    process.stderr.write(
      'usage: npx tsx bench/gen-tree.ts --ports N [--seed S] [--cycles K] (--out DIR | --cache ROOT)\n' +
        '  --cycles K    add K back edges (dependency cycles; default 0: acyclic)\n' +
        '  --out DIR     write the tree into DIR\n' +
        '  --cache ROOT  reuse ROOT/kiln-bench-tree-…-nN-sS, generating it once; prints its folder\n',
    );
    process.exit(2);
  }
  if (values.cache !== undefined) {
    const { dir, summary } = cachedTree(ports, Number(values.seed), path.resolve(values.cache), cycles);
    process.stdout.write(`${dir}\t${JSON.stringify(summary)}\n`);
  } else {
    const s = generateTree({ ports, seed: Number(values.seed), out: path.resolve(values.out!), cycles });
    process.stdout.write(`${JSON.stringify(s)}\n`);
  }
}
