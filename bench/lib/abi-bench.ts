/**
 * bench/abi: what the ABI check saves. Two parts:
 * 1. Real libraries: a hub library built with gcc and packaged with kiln's `buildDeb` three times (v1; v1 with
 *    changed code and a revision bump; v1 plus one exported function) and hashed with `debAbiHash`.
 * 2. A generated tree (bench/gen-tree.ts, scanned with the real `scanTree`): every port is built once under the
 *    ABI check (ports that others depend on are libraries with an ABI hash, a share of them are programs without),
 *    then the hub with the most dependents gets a revision bump and is rebuilt with its ABI unchanged. Prints what
 *    the plan without the check rebuilds, what the checked plan settles to, the rebuilds avoided and their
 *    build time (durations.json of the generator).
 * Usage: npx tsx bench/lib/abi-bench.ts [--ports N] [--seed S] [--programs FRACTION]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { run } from '../../src/util/exec.js';
import { buildDeb, debAbiHash, debVersion } from '../../src/package/index.js';
import { scanTree } from '../../src/tree/index.js';
import { buildDag, dependents } from '../../src/graph/index.js';
import type { Port } from '../../src/recipe/index.js';
import {
  abiMapOf,
  computeIdentities,
  makePlan,
  placeholderJailIdentity,
  settlePlan,
  type BuiltRecord,
  type Identity,
} from '../../src/plan/index.js';
import { generateTree, prng } from '../gen-tree.js';

const { values } = parseArgs({
  options: {
    ports: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '1' },
    programs: { type: 'string', default: '0.3' },
  },
});
const N = Number(values.ports);
const SEED = Number(values.seed);
const PROGRAMS = Number(values.programs);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-abi-'));

async function realLibraries(): Promise<void> {
  console.log('== 1. real libraries (gcc, buildDeb, debAbiHash)');
  const make = async (tag: string, source: string, revision: number): Promise<string> => {
    const root = path.join(work, `stage-${tag}`);
    fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    fs.mkdirSync(path.join(root, 'usr/include'), { recursive: true });
    fs.writeFileSync(path.join(work, `${tag}.c`), source);
    fs.writeFileSync(path.join(root, 'usr/include/hub.h'), 'int hub_answer(void);\nint hub_twice(int);\n');
    await run('gcc', [
      '-shared',
      '-fPIC',
      '-O2',
      '-Wl,-soname,libhub.so.1',
      '-o',
      path.join(root, 'usr/lib/libhub.so.1'),
      path.join(work, `${tag}.c`),
    ]);
    return buildDeb({
      destdir: root,
      outDir: path.join(work, `out-${tag}`),
      sourceDateEpoch: 1,
      control: {
        package: 'libhub1',
        version: debVersion('1.0', revision),
        architecture: 'amd64',
        maintainer: 'bench <b@localhost>',
        summary: 'hub',
      },
    });
  };
  const v1 = 'int hub_answer(void) { return 42; }\nint hub_twice(int x) { return 2 * x; }\n';
  const debs = {
    'v1 (1.0-k1)': await make('v1', v1, 1),
    'new code, same interface (1.0-k2)': await make('v1b', v1.replace('2 * x', 'x + x').replace('42', '6 * 7'), 2),
    'one more exported function (1.0-k3)': await make('v2', `${v1}int hub_more(void) { return 1; }\n`, 3),
  };
  const hashes: string[] = [];
  for (const [what, deb] of Object.entries(debs)) {
    const t0 = performance.now();
    const h = await debAbiHash(deb);
    hashes.push(h!);
    console.log(`   ${what.padEnd(38)} ABI ${h!.slice(0, 16)}  (${(performance.now() - t0).toFixed(0)} ms to hash)`);
  }
  console.log(
    `   same interface -> same hash: ${hashes[0] === hashes[1]}; added function -> different hash: ${hashes[0] !== hashes[2]}`,
  );
}

function record(origin: string, id: Identity, abi: string | undefined): BuiltRecord {
  return {
    origin,
    pkgname: origin.split('/')[1]!,
    version: '1-k1',
    arch: 'amd64',
    identity: id.hash,
    components: id.components,
    files: [`All/${origin.replace('/', '_')}.deb`],
    built: '2024-01-01T00:00:00Z',
    ...(abi !== undefined ? { abi } : {}),
  };
}

async function generatedTree(): Promise<void> {
  console.log(
    `== 2. generated tree: ${N} ports (seed ${SEED}), ${Math.round(PROGRAMS * 100)}% of depended-on ports are programs (no ABI)`,
  );
  const dir = path.join(work, 'tree');
  const gen = generateTree({ ports: N, seed: SEED, out: dir });
  const durations = JSON.parse(fs.readFileSync(path.join(dir, 'durations.json'), 'utf8')) as Record<string, number>;
  const scan = await scanTree({ name: 'gen', layers: [{ name: 'gen', dir }] });
  const ports = scan.ports;
  const dag = buildDag(ports, [...ports.keys()].sort());
  const rev = dependents(dag);
  const rand = prng(SEED + 7);
  const hasAbi = new Set<string>();
  for (let v = 0; v < dag.ids.length; v++) if (rev[v]!.length > 0 && rand() >= PROGRAMS) hasAbi.add(dag.ids[v]!);
  const abiOf = (o: string): string | undefined => (hasAbi.has(o) ? `abi-of-${o}` : undefined);
  console.log(
    `   ${gen.ports} ports, ${gen.edges} edges, depth ${gen.depth}; ${hasAbi.size} libraries with an ABI hash`,
  );

  const jail = placeholderJailIdentity('bookworm');
  // Everything built once, under the check.
  const ids0 = computeIdentities({ dag, ports, jail, abi: new Map() });
  const plan0 = makePlan({ dag, ports, identities: ids0, built: new Map(), abi: true });
  const s0 = settlePlan({ plan: plan0, identities: ids0, built: new Map() }, abiOf);
  const records = new Map<string, BuiltRecord>();
  for (const o of s0.built) records.set(o, record(o, s0.identities.get(o)!, abiOf(o)));

  // The hub: the library with the most transitive dependents.
  const reach = (v: number): number => {
    const seen = new Set<number>([v]);
    const stack = [v];
    while (stack.length > 0)
      for (const w of rev[stack.pop()!]!)
        if (!seen.has(w)) {
          seen.add(w);
          stack.push(w);
        }
    return seen.size - 1;
  };
  let hub = -1;
  let hubReach = -1;
  for (let v = 0; v < dag.ids.length; v++) {
    if (!hasAbi.has(dag.ids[v]!) || rev[v]!.length < 20) continue;
    const r = reach(v);
    if (r > hubReach) {
      hub = v;
      hubReach = r;
    }
  }
  const hubOrigin = dag.ids[hub]!;
  const bumped = new Map<string, Port>(ports);
  const p = ports.get(hubOrigin)!;
  bumped.set(hubOrigin, { ...p, contentHash: `${p.contentHash.slice(0, 60)}beef` });
  console.log(
    `   hub: ${hubOrigin}, ${rev[hub]!.length} direct and ${hubReach} transitive dependents; its recipe changes, its ABI does not`,
  );

  const t0 = performance.now();
  const plainIds = computeIdentities({ dag, ports: bumped, jail });
  // The same packages as bulks without the check would have recorded them (plain identities).
  const plainBefore = computeIdentities({ dag, ports, jail });
  const plainRecords = new Map<string, BuiltRecord>();
  for (const [o, r] of records) plainRecords.set(o, record(o, plainBefore.get(o)!, r.abi));
  const plain = makePlan({ dag, ports: bumped, identities: plainIds, built: plainRecords });
  const t1 = performance.now();
  const ids = computeIdentities({ dag, ports: bumped, jail, abi: abiMapOf(records) });
  const checked = makePlan({ dag, ports: bumped, identities: ids, built: records, abi: true });
  const settled = settlePlan({ plan: checked, identities: ids, built: records }, abiOf);
  const t2 = performance.now();
  const secs = (list: readonly string[]): number => list.reduce((s, o) => s + (durations[o] ?? 60), 0);
  const hours = (s: number): string => `${(s / 3600).toFixed(1)} h`;
  console.log(
    `   without the check: ${plain.build.length} rebuilds (${hours(secs(plain.build))} of build time)  [plan ${(t1 - t0).toFixed(0)} ms]`,
  );
  console.log(
    `   with the check:    ${checked.build.length} planned (${checked.conditional?.size ?? 0} conditional), ${settled.built.length} rebuilt ` +
      `(${hours(secs(settled.built))}), ${settled.kept.size} kept with "${settled.kept.values().next().value?.[0] ?? ''}"  [plan + settle ${(t2 - t1).toFixed(0)} ms]`,
  );
  console.log(
    `   rebuilds avoided: ${plain.build.length - settled.built.length} of ${plain.build.length} ` +
      `(${((100 * (plain.build.length - settled.built.length)) / Math.max(1, plain.build.length)).toFixed(1)}%), ${hours(secs(plain.build) - secs(settled.built))} of build time`,
  );
  const changed = settlePlan({ plan: checked, identities: ids, built: records }, (o) =>
    o === hubOrigin ? 'a-new-abi' : abiOf(o),
  );
  console.log(`   (had the hub's ABI changed: ${changed.built.length} rebuilt, ${changed.kept.size} kept)`);
  // Stable: the next bulk plans nothing.
  const after = new Map(records);
  for (const o of settled.built) after.set(o, record(o, settled.identities.get(o)!, abiOf(o)));
  const next = makePlan({
    dag,
    ports: bumped,
    identities: computeIdentities({ dag, ports: bumped, jail, abi: abiMapOf(after) }),
    built: after,
    abi: true,
  });
  console.log(`   next bulk with nothing changed: ${next.build.length} to build, ${next.keep.length} kept`);
}

try {
  console.log(`bench/abi on ${os.availableParallelism()} cores, node ${process.version}`);
  await realLibraries();
  await generatedTree();
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
