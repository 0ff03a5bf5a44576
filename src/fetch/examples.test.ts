// The bundled example tree (examples/): every recipe loads, its distfiles are byte-identical to Debian's
// orig tarballs (found by sha256 in the Sources of the mirror's stable or oldstable), fetch through the fetch phase, unpack, and take their
// patches; the broken tree fails where it says it does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPort, parseList, type Port } from '../recipe/index.js';
import { hostMirror, loadSourcesIndex } from '../debian/index.js';
import { run } from '../util/exec.js';
import { fetchDistfiles } from './index.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples');
let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-examples-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function loadTree(root: string): Map<string, Port> {
  const ports = new Map<string, Port>();
  for (const cat of fs.readdirSync(root, { withFileTypes: true })) {
    if (!cat.isDirectory()) continue;
    for (const name of fs.readdirSync(path.join(root, cat.name))) {
      const origin = `${cat.name}/${name}`;
      const r = loadPort(path.join(root, origin), origin, 'examples');
      assert.deepEqual(r.problems, [], `${origin} loads without problems`);
      ports.set(origin, r.port!);
    }
  }
  return ports;
}

async function unpack(file: string, into: string): Promise<string> {
  fs.mkdirSync(into, { recursive: true });
  await run('tar', ['-xf', file, '-C', into, '--strip-components=1']);
  return into;
}

test('the example tree loads, its lists and dependencies resolve, and it covers every build system', () => {
  const ports = loadTree(path.join(examples, 'ports'));
  assert.ok(ports.size >= 6);
  const list = parseList(fs.readFileSync(path.join(examples, 'pkglist.txt'), 'utf8'), 'pkglist.txt');
  assert.deepEqual(list.problems, []);
  for (const o of list.origins) assert.ok(ports.has(o), `${o} of pkglist.txt is in the tree`);
  for (const p of ports.values()) {
    for (const d of [...p.recipe.depends.build, ...p.recipe.depends.run])
      assert.ok(ports.has(d), `${p.origin} depends on ${d}, in the tree`);
  }
  const systems = new Set([...ports.values()].map((p) => p.recipe.build.system));
  for (const s of ['autotools', 'cmake', 'meson', 'make', 'script'])
    assert.ok(systems.has(s as never), `some port uses ${s}`);
  assert.ok(
    [...ports.values()].some((p) => Object.keys(p.recipe.options).length > 0),
    'an option',
  );
  assert.ok(
    [...ports.values()].some((p) => p.recipe.patches.length > 0),
    'a patch',
  );
  const linked = [...ports.values()].filter((p) => p.recipe.depends.build.length > 0);
  assert.ok(
    linked.some((p) => p.recipe.depends.build.some((d) => ports.get(d)!.recipe.depends.build.length > 0)),
    'a chain of two links',
  );
  const broken = loadTree(path.join(examples, 'broken-ports'));
  const blist = parseList(fs.readFileSync(path.join(examples, 'broken-ports/pkglist.txt'), 'utf8'), 'pkglist.txt');
  assert.deepEqual([...blist.origins].sort(), [...broken.keys()].sort());
});

test('every distfile of the example tree is an orig tarball of stable or oldstable, fetches, unpacks and takes its patches', async () => {
  const home = path.join(tmp, 'home');
  const mirror = hostMirror();
  const indexes = [
    await loadSourcesIndex({ home, mirror, release: 'stable' }),
    await loadSourcesIndex({ home, mirror, release: 'oldstable' }),
  ];
  const ports = loadTree(path.join(examples, 'ports'));
  for (const p of ports.values()) {
    for (const s of p.recipe.sources) {
      const f = indexes.map((i) => i.bySha256(s.sha256)).find((x) => x !== undefined);
      assert.ok(f, `${p.origin}: ${s.url} is in stable's or oldstable's Sources`);
      assert.match(f.filename, /\.orig\.tar\.[a-z0-9]+$/, `${p.origin}: an orig tarball`);
    }
    const got = await fetchDistfiles(
      { origin: p.origin, sources: p.recipe.sources },
      { home, debianMirror: mirror, release: 'stable', connectTimeoutMs: 5_000 },
    );
    const src = await unpack(got[0]!.path, path.join(tmp, 'work', p.origin));
    assert.ok(fs.readdirSync(src).length > 3, `${p.origin} unpacks`);
    for (const patch of p.recipe.patches)
      await run('patch', ['-p1', '--forward', '--batch', '-i', path.join(p.dir, patch)], { cwd: src });
    if (p.origin === 'misc/hello')
      assert.match(fs.readFileSync(path.join(src, 'src/hello.c'), 'utf8'), /Hello from kiln!/);
  }
  const bad = loadTree(path.join(examples, 'broken-ports')).get('broken/bad-patch')!;
  const [hello] = await fetchDistfiles(
    { origin: bad.origin, sources: bad.recipe.sources },
    { home, debianMirror: mirror, release: 'stable' },
  );
  const src = await unpack(hello!.path, path.join(tmp, 'work', bad.origin));
  const r = await run('patch', ['-p1', '--forward', '--batch', '-i', path.join(bad.dir, bad.recipe.patches[0]!)], {
    cwd: src,
    allowFailure: true,
  });
  assert.notEqual(r.status, 0, 'the broken patch does not apply');
});
