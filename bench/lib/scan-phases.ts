/**
 * bench/scan helper: times each phase of `kiln bulk -n -a` in one process on a generated tree, so a miss
 * can be routed to its owner (tree walk and recipe loading vs graph and plan).
 * Usage: npx tsx bench/lib/scan-phases.ts TREE_DIR
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { indexTree, resolveTree, scanTree } from '../../src/tree/index.js';
import { parseRecipe, RecipeSchema } from '../../src/recipe/index.js';
import { fastYaml } from '../../src/recipe/fastyaml.js';
import { buildDag, closure, cycleGroups } from '../../src/graph/index.js';
import { computeIdentities, makePlan, placeholderJailIdentity, planToJson } from '../../src/plan/index.js';
import { openStore } from '../../src/store/index.js';

const dir = path.resolve(process.argv[2] ?? '');
const rows: [string, number, string][] = [];
function time<T>(name: string, owner: string, fn: () => T): T {
  const t0 = performance.now();
  const v = fn();
  rows.push([name, performance.now() - t0, owner]);
  return v;
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-scan-phases-'));
try {
  const store = time('open store (fresh --home)', 'store', () => openStore(home));
  const ref = time('resolve tree', 'tree', () => resolveTree(store, dir, process.cwd()));
  const index = time('walk layers (indexTree)', 'tree', () => indexTree(ref));
  const files = [...index.winners].map(([origin, layer]) => ({ origin, file: path.join(layer.dir, origin, 'port.yaml') }));
  const bytes = time('read every port.yaml', 'tree/recipe (I/O)', () => files.map((f) => fs.readFileSync(f.file)));
  const texts = bytes.map((b) => b.toString('utf8'));
  const data = time('  fast YAML subset parser', 'recipe', () => texts.map((t) => fastYaml(t)));
  time('  zod RecipeSchema.safeParse', 'recipe', () => data.map((d) => RecipeSchema.safeParse(d)));
  time('  parseRecipe (YAML + zod + checks)', 'recipe', () => files.map((f, i) => parseRecipe(bytes[i]!, f.file, f.origin)));
  const scan = time('scanTree total (walk + read + parse + hash)', 'tree/recipe', () => scanTree(ref));
  const c = time('closure', 'graph', () => closure(scan.ports, 'all'));
  const dag = time('buildDag', 'graph', () => buildDag(scan.ports, c.origins));
  time('cycles (Tarjan)', 'graph', () => cycleGroups(dag));
  const ids = time('computeIdentities (sha256 per port)', 'plan', () => computeIdentities({ dag, ports: scan.ports, jail: placeholderJailIdentity('benchjail') }));
  const plan = time('makePlan (incl. scheduler one-builder order)', 'plan/scheduler', () => makePlan({ dag, ports: scan.ports, identities: ids, built: new Map(), missing: c.missing, all: true }));
  time('JSON output', 'plan', () => JSON.stringify(planToJson(plan)));
  store.close();
  const width = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`phases in one process (warm module cache, so sums differ from the cold CLI), ${scan.ports.size} ports:\n`);
  for (const [name, ms, owner] of rows) process.stdout.write(`  ${name.padEnd(width)}  ${ms.toFixed(0).padStart(6)} ms   ${owner}\n`);
  process.stdout.write(`  heap used ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MB, rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB\n`);
} finally {
  fs.rmSync(home, { recursive: true, force: true });
}
