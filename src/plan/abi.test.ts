/**
 * The ABI check of the plan: a hub library rebuilt with the same ABI keeps its dependents (with the reason, and
 * with identities that stay stable for the next bulk); a changed ABI rebuilds them; without recorded ABIs or
 * without the switch, plans are exactly what they were.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildDag, type Dag } from '../graph/index.js';
import { RecipeSchema } from '../recipe/schema.js';
import type { Port } from '../recipe/types.js';
import {
  abiMapOf,
  computeIdentities,
  makePlan,
  placeholderJailIdentity,
  settlePlan,
  type BuiltRecord,
  type Identity,
  type Plan,
} from './index.js';

const JAIL = placeholderJailIdentity('bookworm');

/** A port in memory: `deps` are both build and run dependencies; `rev` bumps the revision (a recipe change). */
function port(origin: string, deps: string[] = [], rev = 1): Port {
  const recipe = RecipeSchema.parse({
    version: '1.0',
    revision: rev,
    summary: origin,
    depends: { build: deps, run: deps },
    build: { system: 'make' },
  });
  const text = JSON.stringify(recipe);
  return {
    origin,
    dir: `/t/${origin}`,
    path: `/t/${origin}/port.yaml`,
    layer: 't',
    pkgname: origin.split('/')[1]!,
    recipe,
    contentHash: createHash('sha256').update(text).digest('hex'),
  };
}

/** hub ← a (a program) ← b;  hub, other ← c;  x alone. */
function tree(changes: Record<string, number> = {}): Map<string, Port> {
  const spec: [string, string[]][] = [
    ['lib/hub', []],
    ['lib/other', []],
    ['app/a', ['lib/hub']],
    ['app/b', ['app/a']],
    ['app/c', ['lib/hub', 'lib/other']],
    ['tool/x', []],
  ];
  return new Map(spec.map(([o, d]) => [o, port(o, d, changes[o] ?? 1)]));
}

interface Round {
  plan: Plan;
  ids: Map<string, Identity>;
  dag: Dag;
  records: Map<string, BuiltRecord>;
  built: string[];
  kept: Map<string, readonly string[]>;
}

/** One bulk: plan (with or without the check), settle with `abiOf`, and the records it leaves. */
function bulk(
  ports: Map<string, Port>,
  before: Map<string, BuiltRecord>,
  abiOf: (o: string) => string | undefined,
  abi = true,
): Round {
  const dag = buildDag(ports, [...ports.keys()].sort());
  const ids = computeIdentities({ dag, ports, jail: JAIL, ...(abi ? { abi: abiMapOf(before) } : {}) });
  const plan = makePlan({ dag, ports, identities: ids, built: before, abi });
  const s = abi
    ? settlePlan({ plan, identities: ids, built: before }, abiOf)
    : {
        built: plan.build,
        kept: new Map<string, readonly string[]>(),
        identities: new Map(plan.build.map((o) => [o, ids.get(o)!])),
      };
  const records = new Map(before);
  for (const origin of s.built) {
    const id = s.identities.get(origin)!;
    const a = abiOf(origin);
    records.set(origin, {
      origin,
      pkgname: origin.split('/')[1]!,
      version: '1.0-k1',
      arch: 'amd64',
      identity: id.hash,
      components: id.components,
      files: [`All/${origin}.deb`],
      built: '2024-01-01T00:00:00Z',
      ...(a !== undefined ? { abi: a } : {}),
    });
  }
  return { plan, ids, dag, records, built: [...s.built].sort(), kept: s.kept };
}

const libsAbi =
  (hub: string) =>
  (o: string): string | undefined =>
    o === 'lib/hub' ? hub : o === 'lib/other' ? 'other-abi' : undefined;

test('a hub rebuilt with the same ABI: dependents kept, with why; identities stable for the next bulk', () => {
  const first = bulk(tree(), new Map(), libsAbi('hub-abi-1'));
  assert.equal(first.built.length, 6);
  const second = bulk(tree({ 'lib/hub': 2 }), first.records, libsAbi('hub-abi-1'));
  // Planned: hub for sure; a, b, c conditionally, after it.
  assert.deepEqual([...second.plan.build].sort(), ['app/a', 'app/b', 'app/c', 'lib/hub']);
  assert.equal(second.plan.build[0], 'lib/hub');
  assert.deepEqual(second.plan.reasons.get('app/a'), ['dependency lib/hub rebuilt, kept if its ABI is unchanged']);
  assert.deepEqual(second.plan.reasons.get('app/b'), ['dependency app/a may be rebuilt, kept if it is kept']);
  assert.deepEqual([...second.plan.conditional!.keys()].sort(), ['app/a', 'app/b', 'app/c']);
  assert.deepEqual(second.plan.keep, ['lib/other', 'tool/x']);
  // Settled: only the hub is built.
  assert.deepEqual(second.built, ['lib/hub']);
  assert.deepEqual(second.kept.get('app/a'), ['dependency lib/hub rebuilt, ABI unchanged']);
  assert.deepEqual(second.kept.get('app/b'), ['dependency lib/hub rebuilt, ABI unchanged']);
  assert.deepEqual(second.kept.get('app/c'), ['dependency lib/hub rebuilt, ABI unchanged']);
  // The kept ports' identities did not move: the next bulk keeps everything, builds nothing.
  for (const o of ['app/a', 'app/b', 'app/c']) assert.equal(second.ids.get(o)!.hash, first.records.get(o)!.identity);
  const third = bulk(tree({ 'lib/hub': 2 }), second.records, libsAbi('hub-abi-1'));
  assert.deepEqual(third.plan.build, []);
  assert.equal(third.plan.keep.length, 6);
});

test('a hub rebuilt with a changed ABI: its dependents are rebuilt, saying so, under recomputed identities', () => {
  const first = bulk(tree(), new Map(), libsAbi('hub-abi-1'));
  const second = bulk(tree({ 'lib/hub': 2 }), first.records, libsAbi('hub-abi-2'));
  assert.deepEqual(second.built, ['app/a', 'app/b', 'app/c', 'lib/hub']);
  assert.equal(second.kept.size, 0);
  const r = settlePlan({ plan: second.plan, identities: second.ids, built: first.records }, libsAbi('hub-abi-2'));
  assert.notEqual(
    r.identities.get('app/a')!.hash,
    second.ids.get('app/a')!.hash,
    'the planned identity was provisional',
  );
  assert.equal(r.identities.get('app/a')!.components.build['lib/hub'], 'abi:hub-abi-2');
  // The next plan computes the same identities from the records: nothing to build.
  const third = bulk(tree({ 'lib/hub': 2 }), second.records, libsAbi('hub-abi-2'));
  assert.deepEqual(third.plan.build, []);
});

test('own changes still rebuild: a changed dependent is built, its dependents follow, the others are kept', () => {
  const first = bulk(tree(), new Map(), libsAbi('hub-abi-1'));
  const second = bulk(tree({ 'lib/hub': 2, 'app/a': 2 }), first.records, libsAbi('hub-abi-1'));
  assert.deepEqual(second.built, ['app/a', 'app/b', 'lib/hub']);
  assert.deepEqual([...second.kept.keys()], ['app/c']);
  assert.deepEqual(second.plan.reasons.get('app/a'), ['recipe changed']);
});

test('without the switch, or without recorded ABIs, plans and identities are as before', () => {
  const first = bulk(tree(), new Map(), libsAbi('hub-abi-1'), false);
  const plain = bulk(tree({ 'lib/hub': 2 }), first.records, libsAbi('hub-abi-1'), false);
  assert.deepEqual(plain.built, ['app/a', 'app/b', 'app/c', 'lib/hub']);
  assert.equal(plain.plan.conditional, undefined);
  // Records without ABIs (an older kiln): the check changes nothing.
  const noAbi = new Map(
    [...first.records].map(([o, r]) => {
      const { abi: _abi, ...rest } = r;
      return [o, rest];
    }),
  );
  const checked = bulk(tree({ 'lib/hub': 2 }), noAbi, () => undefined, true);
  assert.deepEqual(checked.built, plain.built);
  for (const [o, id] of plain.ids) assert.equal(checked.ids.get(o)!.hash, id.hash, o);
  assert.deepEqual(checked.plan.reasons.get('app/a'), ['dependency lib/hub rebuilt']);
});
