import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closure, buildDag } from '../graph/index.js';
import type { Port } from '../recipe/types.js';
import { assertGolden } from '../util/golden.js';
import {
  computeIdentities,
  makePlan,
  planToJson,
  formatPlanText,
  FORMAT_VERSION,
  identityHash,
  placeholderJailIdentity,
} from './index.js';
import type { BuiltRecord, Identity, Plan, PlanInput } from './index.js';
import { loadFixturePorts } from './__fixtures__/load.js';

const golden = (name: string): string =>
  path.join(path.dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'golden', name);
const JAIL = placeholderJailIdentity('bookworm-amd64');

interface Opts {
  roots?: readonly string[] | 'all';
  built?: ReadonlyMap<string, BuiltRecord>;
  options?: Map<string, Record<string, boolean>>;
  jail?: string;
  format?: number;
  extra?: Partial<PlanInput>;
}

function planFor(ports: ReadonlyMap<string, Port>, o: Opts = {}): { plan: Plan; ids: Map<string, Identity> } {
  const c = closure(ports, o.roots ?? 'all');
  const dag = buildDag(ports, c.origins);
  const ids = computeIdentities({ dag, ports, options: o.options, jail: o.jail ?? JAIL, format: o.format });
  const plan = makePlan({
    dag,
    ports,
    identities: ids,
    built: o.built ?? new Map(),
    missing: c.missing,
    all: o.roots === undefined || o.roots === 'all',
    ...o.extra,
  });
  return { plan, ids };
}

/** Built records as if the plan's builds had all succeeded. */
function recordsOf(
  ports: ReadonlyMap<string, Port>,
  r: { plan: Plan; ids: ReadonlyMap<string, Identity> },
): Map<string, BuiltRecord> {
  const m = new Map<string, BuiltRecord>();
  for (const origin of r.plan.build) {
    const id = r.ids.get(origin)!;
    const p = ports.get(origin)!;
    m.set(origin, {
      origin,
      pkgname: p.pkgname,
      version: `${p.recipe.version}-k${p.recipe.revision}`,
      arch: 'amd64',
      identity: id.hash,
      components: id.components,
      files: [`pool/${p.pkgname}.deb`],
      built: '2024-01-01T00:00:00Z',
    });
  }
  return m;
}

function withHash(p: Port, contentHash: string): Port {
  return { ...p, contentHash };
}

test('fresh plan of the fixture tree: everything new, missing dependency and cycle skipped with culprits (golden)', () => {
  const { plan } = planFor(loadFixturePorts());
  assert.deepEqual(plan.build.slice().sort(), ['devel/git', 'lib/ssl', 'lib/zlib', 'net/curl', 'shells/hello']);
  assert.deepEqual(
    plan.skip.map((s) => s.origin),
    ['devel/chicken', 'devel/egg', 'devel/farm', 'editors/nano', 'editors/nano-tiny'],
  );
  const reason = Object.fromEntries(plan.skip.map((s) => [s.origin, s.reason]));
  assert.equal(reason['editors/nano'], 'depends on devel/ncurses, which is not in the tree');
  assert.match(reason['editors/nano-tiny']!, /^depends on editors\/nano, which is skipped \(depends on devel\/ncurses/);
  assert.equal(reason['devel/egg'], 'part of the dependency cycle devel/chicken → devel/egg → devel/chicken');
  assert.match(reason['devel/farm']!, /devel\/egg.*cycle/);
  assert.deepEqual(plan.counts, { build: 5, keep: 0, delete: 0, skip: 5 });
  assertGolden(golden('fresh.txt'), formatPlanText(plan));
  assertGolden(golden('fresh-explain.txt'), formatPlanText(plan, true));
  assertGolden(golden('fresh.json'), `${JSON.stringify(planToJson(plan), null, 2)}\n`);
});

test('build order: dependencies first, longest chain first among ready ports', () => {
  const { plan } = planFor(loadFixturePorts());
  const pos = (o: string): number => plan.build.indexOf(o);
  assert.ok(pos('lib/zlib') < pos('lib/ssl') && pos('lib/ssl') < pos('net/curl') && pos('net/curl') < pos('devel/git'));
  // zlib heads a chain of four; hello is a lone leaf, so it comes last on one builder.
  assert.equal(plan.build[0], 'lib/zlib');
  assert.equal(plan.build[plan.build.length - 1], 'shells/hello');
});

test('incremental plan explains every rebuild: recipe, option, dependency rebuilt; keeps the rest; deletes the gone (golden)', () => {
  const ports = loadFixturePorts();
  // What was built last time: ssl from an older recipe, hello with NLS on, and a port since removed.
  const old = new Map(ports);
  old.set('lib/ssl', withHash(ports.get('lib/ssl')!, 'old-recipe-bytes'));
  const before = planFor(old, { options: new Map([['shells/hello', { NLS: true }]]) });
  const built = recordsOf(old, before);
  built.set('misc/removed', { ...built.get('lib/zlib')!, origin: 'misc/removed', pkgname: 'removed' });
  const { plan } = planFor(ports, { built });
  assert.deepEqual(plan.keep, ['lib/zlib']);
  assert.deepEqual(plan.delete, ['misc/removed']);
  assert.deepEqual(plan.reasons.get('lib/ssl'), ['recipe changed']);
  assert.deepEqual(plan.reasons.get('net/curl'), ['dependency lib/ssl rebuilt']);
  assert.deepEqual(plan.reasons.get('devel/git'), ['dependency net/curl rebuilt']);
  assert.deepEqual(plan.reasons.get('shells/hello'), ['option changed']);
  assert.deepEqual(plan.reasons.get('misc/removed'), ['port left the tree']);
  assertGolden(golden('incremental-explain.txt'), formatPlanText(plan, true));
  assertGolden(golden('incremental-explain.json'), `${JSON.stringify(planToJson(plan, true), null, 2)}\n`);
});

test('nothing changed: everything kept, nothing built', () => {
  const ports = loadFixturePorts();
  const first = planFor(ports);
  const { plan } = planFor(ports, { built: recordsOf(ports, first) });
  assert.deepEqual(plan.build, []);
  assert.equal(plan.keep.length, 5);
  assert.equal(plan.reasons.get('lib/zlib')![0], 'unchanged');
});

test('a jail change or a format change rebuilds everything, and says so', () => {
  const ports = loadFixturePorts();
  const built = recordsOf(ports, planFor(ports));
  const jail = planFor(ports, { built, jail: placeholderJailIdentity('trixie-amd64') }).plan;
  assert.equal(jail.build.length, 5);
  assert.deepEqual(jail.reasons.get('lib/zlib'), ['jail changed']);
  assert.deepEqual(jail.reasons.get('lib/ssl'), ['jail changed', 'dependency lib/zlib rebuilt']);
  const fmt = planFor(ports, { built, format: FORMAT_VERSION + 1 }).plan;
  assert.deepEqual(fmt.reasons.get('shells/hello'), ['format changed']);
});

test('-C forces named ports only; dependents of an unchanged forced port are kept', () => {
  const ports = loadFixturePorts();
  const built = recordsOf(ports, planFor(ports));
  const { plan } = planFor(ports, { built, extra: { force: new Set(['lib/ssl']) } });
  assert.deepEqual(plan.build, ['lib/ssl']);
  assert.deepEqual(plan.reasons.get('lib/ssl'), ['forced (-C)']);
  assert.ok(plan.keep.includes('net/curl'));
});

test('a port left out of the list is "not in the list"; --keep-stale keeps both kinds of stale package', () => {
  const ports = loadFixturePorts();
  const built = recordsOf(ports, planFor(ports));
  built.set('misc/removed', { ...built.get('lib/zlib')!, origin: 'misc/removed' });
  const { plan } = planFor(ports, { roots: ['net/curl'], built });
  assert.deepEqual(plan.keep, ['lib/ssl', 'lib/zlib', 'net/curl']);
  assert.deepEqual(plan.delete, ['devel/git', 'misc/removed', 'shells/hello']);
  assert.deepEqual(plan.reasons.get('shells/hello'), ['not in the list']);
  assert.deepEqual(plan.reasons.get('misc/removed'), ['port left the tree']);
  const stale = planFor(ports, { roots: ['net/curl'], built, extra: { keepStale: true } }).plan;
  assert.deepEqual(stale.delete, []);
  assert.equal(stale.keep.length, 6);
  assert.deepEqual(stale.reasons.get('misc/removed'), ['port left the tree', 'stale, kept (--keep-stale)']);
});

test('requested origins that are missing or invalid are skipped; an invalid port is never deleted', () => {
  const ports = loadFixturePorts();
  const built = recordsOf(ports, planFor(ports));
  ports.delete('lib/zlib'); // its recipe failed to load this time
  const invalid = new Set(['lib/zlib']);
  const { plan } = planFor(ports, { roots: ['net/curl', 'x/none', 'lib/zlib'], built, extra: { invalid } });
  const reason = Object.fromEntries(plan.skip.map((s) => [s.origin, s.reason]));
  assert.equal(reason['x/none'], 'not in the tree');
  assert.equal(reason['lib/zlib'], 'its recipe is invalid');
  assert.match(reason['lib/ssl']!, /^depends on lib\/zlib, whose recipe is invalid/);
  assert.equal(reason['net/curl'], 'depends on lib/zlib, whose recipe is invalid');
  const git = planFor(ports, { roots: ['devel/git'], extra: { invalid } }).plan;
  assert.equal(
    git.skip.find((s) => s.origin === 'devel/git')!.reason,
    'depends on net/curl, which is skipped (depends on lib/zlib, whose recipe is invalid)',
  );
  assert.deepEqual(plan.delete, ['devel/git', 'shells/hello'], 'not in the list; lib/zlib is not deleted');
  const all = planFor(ports, { built, extra: { invalid } }).plan;
  assert.ok(all.skip.some((s) => s.origin === 'lib/zlib' && s.reason === 'its recipe is invalid'));
  assert.ok(!all.delete.includes('lib/zlib'));
});

test('identities: order-independent canonical hash, options and dependency identities enter it', () => {
  const c = {
    format: 1,
    recipe: 'r',
    options: { B: true, A: false },
    build: { 'x/b': '2', 'x/a': '1' },
    run: {},
    jail: 'j',
  };
  const d = { ...c, options: { A: false, B: true }, build: { 'x/a': '1', 'x/b': '2' } };
  assert.equal(identityHash(c), identityHash(d));
  assert.notEqual(identityHash(c), identityHash({ ...c, options: { A: true, B: true } }));
  assert.notEqual(identityHash(c), identityHash({ ...c, build: { 'x/a': '1', 'x/b': '3' } }));
  assert.notEqual(identityHash(c), identityHash({ ...c, jail: 'k' }));
  assert.notEqual(identityHash(c), identityHash({ ...c, recipe: 's' }));
  const ports = loadFixturePorts();
  const a = planFor(ports).ids;
  const b = planFor(ports, { options: new Map([['net/curl', { HTTP2: false }]]) }).ids;
  assert.equal(a.get('lib/ssl')!.hash, b.get('lib/ssl')!.hash);
  assert.notEqual(a.get('net/curl')!.hash, b.get('net/curl')!.hash);
  assert.notEqual(a.get('devel/git')!.hash, b.get('devel/git')!.hash, 'a dependency change ripples up');
  assert.deepEqual(a.get('net/curl')!.components.options, { HTTP2: true });
  assert.equal(a.get('devel/egg'), undefined, 'ports on a cycle have no identity');
  for (const [origin, id] of a)
    assert.equal(identityHash(id.components), id.hash, `${origin}: the stored components re-hash to the identity`);
  assert.deepEqual(a.get('net/curl')!.components.build, {
    'lib/ssl': a.get('lib/ssl')!.hash,
    'lib/zlib': a.get('lib/zlib')!.hash,
  });
  assert.deepEqual(JSON.parse(JSON.stringify(a.get('lib/ssl'))).components.run, {
    'lib/zlib': a.get('lib/zlib')!.hash,
  });
});
