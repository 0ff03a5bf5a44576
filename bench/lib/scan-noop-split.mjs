// bench/noop helper: the no-op planning steps of a generated tree in one process, without the CLI: one cached scan,
// then REPEAT rounds of closure → cycles → identities → plan; prints each step's first and best wall ms (the pure steps are
// easier to compare on a busy machine this way). Usage: REPEAT=8 node bench/lib/scan-noop-split.mjs TREE_DIR HOME
// (HOME: a kiln home whose scan cache of TREE_DIR exists, e.g. after one `kiln bulk -n -a`).
import { performance } from 'node:perf_hooks';
const [dir, home] = process.argv.slice(2);
const best = new Map();
const first = new Map();
let last = performance.now();
const lap = (name) => {
  const now = performance.now();
  best.set(name, Math.min(best.get(name) ?? Infinity, now - last));
  if (!first.has(name)) first.set(name, now - last);
  last = now;
};
const pool = await import('../../dist/tree/pool.js');
pool.prestartLoaders([{ name: dir.split('/').pop(), dir }]);
const { scanTree, scanCacheDir, resolveTree } = await import('../../dist/tree/index.js');
const { openStore } = await import('../../dist/store/index.js');
const { closureDag, cycleGroups } = await import('../../dist/graph/index.js');
const plans = await import('../../dist/plan/index.js');
lap('imports');
const store = openStore(home);
const tree = resolveTree(store, dir, process.cwd());
lap('store');
const scan = await scanTree(tree, { cache: { dir: scanCacheDir(home) } });
lap('scan');
let plan;
for (let r = 0; r < Number(process.env.REPEAT ?? 1); r++) {
  last = performance.now();
  const { dag, missing } = closureDag(scan.ports, 'all');
  lap('closure');
  const cycles = cycleGroups(dag);
  lap('cycles');
  const identities = plans.computeIdentities({
    dag,
    ports: scan.ports,
    options: new Map(),
    jail: plans.placeholderJailIdentity('benchjail'),
  });
  lap('identities');
  plan = plans.makePlan({
    dag,
    ports: scan.ports,
    identities,
    built: plans.toBuiltRecords([]),
    additive: false,
    missing,
    invalid: new Set(),
    all: true,
    cycles,
  });
  lap('plan');
}
console.log(
  [...best].map(([k, v]) => `${k} ${first.get(k).toFixed(0)}/${v.toFixed(0)}`).join(', '),
  `| reused ${scan.cache?.reused}, build ${plan.build.length}`,
);
