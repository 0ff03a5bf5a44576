import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Port, Recipe } from '../recipe/index.js';
import { makeTreeIndex, rowStanza, type DebianTreeBuildData, type DebianTreeIndexData } from './tree-index.js';
import { debianBulk, type DebianBulkInput } from './bulk.js';
import { archAdmits, breakCycles, neededBinaries, profilesAdmit } from './edges.js';
import { debianKilnVersion, upstreamVersion } from './port.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const made = makeTreeIndex({
  release: 'testing',
  component: 'main',
  mirror: 'http://mirror.invalid/debian',
  made: '2026-01-01T00:00:00Z',
  sources: fs.readFileSync(path.join(here, '__fixtures__/tree.Sources'), 'utf8'),
  packages: { amd64: fs.readFileSync(path.join(here, '__fixtures__/tree.Packages'), 'utf8') },
});
const place = { layer: 'deb', dir: '/nonexistent/trees/deb', path: '/nonexistent/trees/deb/index.json' };

function bulk(over: Partial<DebianBulkInput> = {}): ReturnType<typeof debianBulk> {
  return debianBulk({
    index: made.plan,
    buildIndex: () => made.build,
    place,
    folderPorts: new Map(),
    roots: 'all',
    arch: 'amd64',
    ...over,
  });
}

/** A user's port as the tree scan would give it (only the fields debianBulk reads). */
function userPort(origin: string, system: string, extra: { name?: string; depends?: string[] } = {}): Port {
  const recipe = {
    version: '',
    summary: '',
    revision: 2,
    patches: ['fix.patch'],
    sources: [],
    options: {},
    arch: 'any',
    depends: { build: extra.depends ?? [], run: [], system: [], system_run: [] },
    build: { system, configure_args: [], make_args: [], env: {}, parallel: true, limits: {} },
    install: { conffiles: [] },
  } as unknown as Recipe;
  return {
    origin,
    dir: `/overlay/${origin}`,
    path: `/overlay/${origin}/port.yaml`,
    layer: 'mine',
    pkgname: extra.name ?? origin.split('/')[1]!,
    recipe,
    contentHash: 'c'.repeat(64),
  };
}

test('the index keeps every source sorted by origin, Build-Depends split by restriction, and Provides', () => {
  const ix: DebianTreeIndexData = made.plan;
  assert.deepEqual(ix.pkg, ['debhelper', 'hello', 'valgrind', 'hurdonly', 'gawk', 'libonig', 'po4a', 'jq']);
  const jq = ix.pkg.indexOf('jq');
  // Resolved at index time: libonig-dev is libonig's second binary; the rest are virtual or not in the archive.
  const rows = ix.needRow.slice(ix.needOff[jq], ix.needOff[jq + 1]);
  assert.deepEqual(
    rows.map((r) => ix.pkg[r]),
    ['libonig'],
  );
  assert.deepEqual(ix.needBin.slice(ix.needOff[jq], ix.needOff[jq + 1]), [1]);
  assert.equal(ix.needVirt[jq], 'debhelper-compat bison flex chrpath awk-provider');
  assert.equal(ix.restricted[jq], 'valgrind [amd64] <!nocheck>');
  assert.equal(ix.alts[jq], 'hello');
  assert.deepEqual(ix.providesRow.amd64!['debhelper-compat'], [ix.pkg.indexOf('debhelper')]);
  const b: DebianTreeBuildData = made.build;
  const st = rowStanza(ix, jq, b.jq!);
  assert.equal(st.directory, 'pool/main/j/jq');
  assert.deepEqual(st.files, [{ name: 'jq_1.6-2.1.dsc', sha256: `cccc${'0'.repeat(59)}1`, size: 1000 }]);
});

test('restrictions: architecture lists and build profiles', () => {
  assert.equal(archAdmits(['amd64'], 'amd64'), true);
  assert.equal(archAdmits(['!amd64'], 'amd64'), false);
  assert.equal(archAdmits(['linux-any'], 'arm64'), true);
  assert.equal(archAdmits(['hurd-i386', 'kfreebsd-any'], 'amd64'), false);
  assert.equal(archAdmits(['any-arm64'], 'arm64'), true);
  assert.equal(profilesAdmit([['!nocheck']], new Set(['nocheck'])), false);
  assert.equal(profilesAdmit([['!nocheck'], ['stage1']], new Set(['stage1', 'nocheck'])), true);
  assert.deepEqual(neededBinaries('v [arm64] | w, x <!nocheck>', 'amd64', new Set(['nocheck'])), ['w']);
  assert.deepEqual(neededBinaries('x <!nocheck>', 'amd64', new Set()), ['x']);
});

test('-a: every source that builds for the architecture; Provides lead to sources; the cycle is broken and explained', () => {
  const r = bulk();
  assert.deepEqual([...r.ports.keys()].sort(), [
    'devel/debhelper',
    'devel/hello',
    'devel/valgrind',
    'interpreters/gawk',
    'libs/libonig',
    'text/po4a',
    'utils/jq',
  ]);
  assert.deepEqual(r.notForArch, ['hurd/hurdonly']);
  const jq = r.ports.get('utils/jq')!;
  // debhelper-compat (virtual) -> debhelper; libonig-dev -> libonig; awk-provider (Indep, virtual) -> gawk;
  // valgrind is <!nocheck> (off without tests); `chrpath | hello` takes chrpath, which no port builds.
  assert.deepEqual(jq.recipe.depends.build, ['devel/debhelper', 'interpreters/gawk', 'libs/libonig']);
  assert.equal(jq.pkgname, 'jq');
  assert.equal(jq.debian!.directory, 'pool/main/j/jq');
  assert.equal(jq.recipe.build.system, 'debian');
  assert.equal(r.broken.length, 1);
  const b = r.broken[0]!;
  assert.deepEqual([b.from, b.to], ['devel/debhelper', 'text/po4a']);
  assert.equal(b.via, 'po4a');
  assert.deepEqual(b.cycle, ['devel/debhelper', 'text/po4a']);
  assert.deepEqual(r.ports.get('devel/debhelper')!.recipe.depends.build, []);
  assert.deepEqual(r.ports.get('text/po4a')!.recipe.depends.build, ['devel/debhelper', 'interpreters/gawk']);
});

test('with tests, test-only Build-Depends count', () => {
  const r = bulk({ tests: true });
  assert.ok(r.ports.get('utils/jq')!.recipe.depends.build.includes('devel/valgrind'));
});

test('a list: edges only to ports of the bulk; the rest comes from the archive', () => {
  const alone = bulk({ roots: ['utils/jq'] });
  assert.deepEqual([...alone.ports.keys()], ['utils/jq']);
  assert.deepEqual(alone.ports.get('utils/jq')!.recipe.depends.build, []);
  const two = bulk({ roots: ['utils/jq', 'libs/libonig'] });
  assert.deepEqual(two.ports.get('utils/jq')!.recipe.depends.build, ['libs/libonig']);
  const none = bulk({ roots: ['hurd/hurdonly'] });
  assert.equal(none.ports.size, 0);
  assert.match(none.errors[0]!, /hurd\/hurdonly does not build for amd64/);
});

test("--rdeps adds the sources that build-depend on a port's binaries, N levels out", () => {
  assert.deepEqual(bulk({ roots: ['libs/libonig'], rdeps: ['libs/libonig'] }).rdepsAdded, ['utils/jq']);
  // gawk's users: po4a, valgrind, and jq (through the virtual awk-provider); one level more: po4a's user debhelper,
  // valgrind's user... jq again (already in).
  assert.deepEqual(bulk({ roots: ['interpreters/gawk'], rdeps: ['interpreters/gawk'] }).rdepsAdded, [
    'devel/valgrind',
    'text/po4a',
    'utils/jq',
  ]);
  assert.deepEqual(bulk({ roots: ['interpreters/gawk'], rdeps: ['interpreters/gawk'], rdepsDepth: 2 }).rdepsAdded, [
    'devel/valgrind',
    'text/po4a',
    'utils/jq',
    'devel/debhelper',
  ]);
});

test('an overlay recipe takes over its source package under its own origin; a missing source is a located problem', () => {
  const mine = userPort('mine/libonig', 'debian', { name: 'libonig' });
  const tool = userPort('mine/tool', 'autotools', { depends: ['utils/jq'] });
  const ghost = userPort('mine/nosuch', 'debian');
  const r = bulk({
    roots: ['libs/libonig'],
    folderPorts: new Map([
      ['mine/libonig', mine],
      ['mine/tool', tool],
      ['mine/nosuch', ghost],
    ]),
  });
  // libs/libonig (the list) is the overlay's mine/libonig; the user's tool pulls in jq; jq now waits for mine/libonig.
  assert.deepEqual([...r.ports.keys()].sort(), ['mine/libonig', 'mine/tool', 'utils/jq']);
  assert.deepEqual(r.roots, ['mine/libonig', 'mine/tool']);
  assert.deepEqual(r.ports.get('utils/jq')!.recipe.depends.build, ['mine/libonig']);
  const p = r.ports.get('mine/libonig')!;
  assert.equal(p.recipe.revision, 2);
  assert.deepEqual(p.recipe.patches, ['fix.patch']);
  assert.equal(p.recipe.version, '6.9.8');
  assert.equal(p.debian!.version, '6.9.8-1');
  assert.equal(debianKilnVersion(p.debian!.version, p.recipe.revision), '6.9.8-1+kiln2');
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]!.path, '/overlay/mine/nosuch/port.yaml');
  assert.equal(r.problems[0]!.field, 'build.system');
  assert.match(r.problems[0]!.message, /no source package "nosuch"/);
});

test('cycle breaking leaves an acyclic graph and gives up few edges', () => {
  // A 4-cycle with a chord: a->b->c->d->a, b->d.
  const g = { ids: ['a', 'b', 'c', 'd'], deps: [[1], [2, 3], [3], [0]] };
  const broken = breakCycles(g);
  assert.equal(broken.length, 1);
  assert.deepEqual(broken[0]!.cycle.length >= 2, true);
  // No cycle left: a topological order exists.
  const indeg = g.deps.map(() => 0);
  g.deps.forEach((d) =>
    d.forEach((w) => {
      indeg[w]! += 1;
    }),
  );
  const q = indeg.flatMap((x, i) => (x === 0 ? [i] : []));
  let seen = 0;
  for (let k = 0; k < q.length; k++) {
    seen++;
    for (const w of g.deps[q[k]!]!) if (--indeg[w]! === 0) q.push(w);
  }
  assert.equal(seen, 4);
  assert.equal(upstreamVersion('1:5.2.1-2'), '5.2.1');
});
