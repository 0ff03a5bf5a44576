import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../main.js';
import { assertGolden } from '../../util/golden.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-simulate-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function kiln(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), cwd, env: {}, isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Writes a tree of minimal valid recipes: origin → build dependencies. */
function writeTree(root: string, spec: Record<string, string[]>): string {
  const dir = path.join(root, 'ports');
  for (const [origin, deps] of Object.entries(spec)) {
    fs.mkdirSync(path.join(dir, origin), { recursive: true });
    fs.writeFileSync(
      path.join(dir, origin, 'port.yaml'),
      `version: "1.0"\nsummary: test port\ndepends:\n  build: [${deps.join(', ')}]\nbuild:\n  system: make\n`,
    );
  }
  return dir;
}

const SPEC = {
  'lib/zlib': [],
  'lib/ssl': ['lib/zlib'],
  'net/curl': ['lib/zlib', 'lib/ssl'],
  'editors/nano': ['lib/zlib'],
};
const DURATIONS = '{\n  "lib/zlib": 100,\n  "lib/ssl": 50,\n  "net/curl": 10\n}\n';

test('simulate --json on a small tree: exact figures, default 60 s for ports without a duration', async (t) => {
  const root = tmp(t);
  writeTree(root, SPEC);
  fs.writeFileSync(path.join(root, 'd.json'), DURATIONS);
  const r = await kiln(
    root,
    'simulate',
    '-p',
    './ports',
    '-a',
    '-J',
    '2',
    '--durations',
    'd.json',
    '--json',
    '--home',
    path.join(root, 'home'),
  );
  assert.equal(r.err, '');
  assert.equal(r.code, 0);
  const j = JSON.parse(r.out);
  // zlib 0–100; then ssl and nano (60 s default) 100–150/160; curl 150–160.
  assert.deepEqual(
    {
      ports: j.ports,
      builders: j.builders,
      makespan_s: j.makespan_s,
      critical_path_s: j.critical_path_s,
      work_s: j.work_s,
    },
    { ports: 4, builders: 2, makespan_s: 160, critical_path_s: 160, work_s: 220 },
  );
  assert.equal(j.lower_bound_s, 160);
  assert.equal(j.default_durations, 1);
  assert.equal(j.policy, 'kiln');
  assert.equal(fs.existsSync(path.join(root, 'home')), false, 'a tree given by path needs no state database');
  const one = JSON.parse(
    (await kiln(root, 'simulate', '-p', 'ports', '-a', '-J', '1', '--durations', 'd.json', '--json')).out,
  );
  assert.equal(one.makespan_s, 220);
});

test('simulate prints a readable summary (golden)', async (t) => {
  const root = tmp(t);
  writeTree(root, SPEC);
  fs.writeFileSync(path.join(root, 'd.json'), DURATIONS);
  const r = await kiln(root, 'simulate', '-p', './ports', '-a', '-J', '2', '--durations', 'd.json');
  assert.equal(r.code, 0);
  assertGolden(path.join(HERE, 'simulate.golden.txt'), `${r.out}\n`);
});

test('simulate -f LIST takes the closure of the list; --policy picks a baseline', async (t) => {
  const root = tmp(t);
  writeTree(root, SPEC);
  fs.writeFileSync(path.join(root, 'list'), '# just curl\nnet/curl\n');
  const r = await kiln(root, 'simulate', '-p', './ports', '-f', 'list', '-J', '4', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.ports, 3, 'curl, ssl, zlib');
  assert.equal(j.makespan_s, 180, 'a chain of three at 60 s');
  assert.equal(j.default_durations, 3);
  const f = JSON.parse(
    (await kiln(root, 'simulate', '-p', './ports', '-a', '-J', '4', '--policy', 'fifo', '--json')).out,
  );
  assert.equal(f.policy, 'fifo');
  assert.equal(f.chosen, undefined);
});

test('without --durations, the durations learned from earlier builds', async (t) => {
  const root = tmp(t);
  writeTree(root, SPEC);
  const home = path.join(root, 'home');
  const { openStore } = await import('../../store/index.js');
  const s = openStore(home);
  try {
    const b = s.bulks.startBulk({ jail: 'j', tree: 't', pid: 1, pidStart: 'x', builders: 1, request: {} });
    s.bulks.setBuild(b.id, 'lib/zlib', { result: 'built', wallMs: 100_000 });
    s.bulks.setBuild(b.id, 'lib/ssl', { result: 'built', wallMs: 50_000 });
    s.bulks.setBuild(b.id, 'net/curl', { result: 'failed', wallMs: 1_000 });
  } finally {
    s.close();
  }
  const j = JSON.parse(
    (await kiln(root, 'simulate', '-p', './ports', 'net/curl', '-J', '1', '--json', '--home', home)).out,
  );
  assert.equal(j.durations_source, 'learned');
  assert.equal(j.default_durations, 1, 'curl never built well: the default');
  assert.equal(j.makespan_s, 210, 'zlib 100 + ssl 50 + curl 60');
  const text = await kiln(root, 'simulate', '-p', './ports', 'net/curl', '-J', '1', '--home', home);
  assert.match(text.out, /durations +2 learned from earlier builds, 1 at the default 60 s/);
});

test('a bad durations file: every bad entry located, nothing simulated, exit 2', async (t) => {
  const root = tmp(t);
  writeTree(root, SPEC);
  fs.writeFileSync(path.join(root, 'bad.json'), '{\n  "lib/zlib": -5,\n  "lib/ssl": "slow",\n  "net/curl": 10\n}\n');
  const r = await kiln(root, 'simulate', '-p', './ports', '-a', '-J', '2', '--durations', 'bad.json', '--json');
  assert.equal(r.code, 2);
  const file = path.join(root, 'bad.json');
  assert.deepEqual(r.err.split('\n').slice(0, 2), [
    `${file}:2:3: lib/zlib: must be a number of seconds ≥ 0, not -5`,
    `${file}:3:3: lib/ssl: must be a number of seconds ≥ 0, not "slow"`,
  ]);
  assert.equal(r.out, '', 'an error before any output');
  fs.writeFileSync(path.join(root, 'broken.json'), '{\n  "lib/zlib": 5,\n}\n');
  const b = await kiln(root, 'simulate', '-p', './ports', '-a', '-J', '2', '--durations', 'broken.json', '--json');
  assert.equal(b.code, 2);
  assert.match(b.err, /broken\.json:\d+:\d+: -: not valid JSON/);
  const missing = await kiln(root, 'simulate', '-p', './ports', '-a', '-J', '2', '--durations', 'nope.json');
  assert.equal(missing.code, 2);
  assert.match(missing.err, /\[KILN_E_DURATIONS\]/);
});

test('a dependency cycle is reported whole and nothing is simulated (exit 2)', async (t) => {
  const root = tmp(t);
  const tree = writeTree(root, { 'devel/chicken': ['devel/egg'], 'devel/egg': ['devel/chicken'], 'lib/zlib': [] });
  const r = await kiln(root, 'simulate', '-p', './ports', '-a', '-J', '2');
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.match(
    r.err,
    new RegExp(
      `^${tree}/devel/chicken/port.yaml:\\d+:\\d+: depends\\.build\\[0\\]: dependency cycle: devel/chicken → devel/egg → devel/chicken$`,
      'm',
    ),
  );
});

test('usage errors exit 2 with a hint', async (t) => {
  const root = tmp(t);
  writeTree(root, SPEC);
  for (const argv of [
    ['-p', './ports', '-a'],
    ['-p', './ports', '-a', '-J', '0'],
    ['-p', './ports', '-J', '2'],
    ['-p', './ports', '-a', '-f', 'x', '-J', '2'],
    ['-a', '-J', '2'],
    ['-p', './ports', '-a', '-J', '2', '--bogus'],
  ]) {
    const r = await kiln(root, 'simulate', ...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, /\[KILN_E_USAGE\]\nhint: /, argv.join(' '));
  }
  const nf = await kiln(root, 'simulate', '-p', './nowhere', '-a', '-J', '2');
  assert.equal(nf.code, 2);
  assert.match(nf.err, /KILN_E_TREE_NOT_FOUND/);
  const help = await kiln(root, 'simulate', '--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /^usage: kiln simulate/);
});
