/**
 * `kiln clean` on real files in a temporary home: what nothing needs goes (and is counted), what a package set,
 * a kept generation, a recipe, a running bulk or the newest bulks need stays; a dry run removes nothing.
 */
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { run } from '../util/exec.js';
import { openStore, type Store } from '../store/index.js';
import { addTree } from '../tree/index.js';
import { processStart } from '../bulk/index.js';
import { main } from '../cli/main.js';
import { cleanCcache, cleanDistfiles, cleanLogs, cleanPackages } from './index.js';
import { ccacheDir } from '../build/index.js';

let home = '';
let trees = '';
let store: Store;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-clean-home-'));
  trees = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-clean-trees-'));
  store = openStore(home);
  store.putJail({
    name: 'bookworm',
    release: 'bookworm',
    arch: 'amd64',
    mirror: 'file:///nonexistent',
    path: path.join(home, 'jails/bookworm'),
    identity: 'j'.repeat(64),
    manifestHash: 'm'.repeat(64),
  });
});
afterEach(() => {
  store.close();
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(trees, { recursive: true, force: true });
});

const write = (file: string, bytes: string | Buffer): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
};
const sha = (b: string): string => crypto.createHash('sha256').update(b).digest('hex');

/** A tree folder with one port per entry; `sources` are sha256s; `broken` makes the recipe invalid (unknown key). */
function makeTree(name: string, ports: Record<string, { sources?: string[]; broken?: boolean }>): string {
  const dir = path.join(trees, name);
  for (const [origin, p] of Object.entries(ports)) {
    write(
      path.join(dir, origin, 'port.yaml'),
      [
        'version: "1.0"',
        `summary: ${origin}`,
        ...(p.broken ? ['no_such_key: 1'] : []),
        ...(p.sources?.length
          ? [
              'sources:',
              ...p.sources.flatMap((s, i) => [
                `  - url: https://example.invalid/${origin.replace('/', '-')}-${i}.tar.gz`,
                `    sha256: ${s}`,
              ]),
            ]
          : []),
        'build:',
        '  system: script',
        '  script: "true"',
        '',
      ].join('\n'),
    );
  }
  return dir;
}

function finishedBulk(jail: string, tree: string, status: 'done' | 'failed' = 'done'): number {
  const b = store.bulks.startBulk({ jail, tree, pid: 1, pidStart: 'not-a-start-time', builders: 1, request: {} });
  store.bulks.finishBulk(b.id, status);
  return b.id;
}

function runningBulk(jail: string, tree: string): number {
  return store.bulks.startBulk({
    jail,
    tree,
    pid: process.pid,
    pidStart: processStart(process.pid)!,
    builders: 1,
    request: {},
  }).id;
}

const pkgRow = (origin: string, file: string) => ({
  origin,
  pkgname: origin.split('/')[1]!,
  version: '1.0-k1',
  arch: 'all',
  identity: 'i'.repeat(64),
  components: {},
  files: [file],
  built: '2024-01-01T00:00:00Z',
});

test('clean packages: unreferenced files and gone pairs go; the package set, kept generations and running bulks stay', async () => {
  await addTree(store, home, { name: 't1', path: makeTree('t1', { 'misc/a': {} }) });
  await addTree(store, home, { name: 't2', path: makeTree('t2', { 'misc/c': {} }) });
  const all = path.join(home, 'packages/bookworm-t1/All');
  write(path.join(all, 'a_1.0-k1_all.deb'), 'x'.repeat(100)); // current package set
  write(path.join(all, 'a_0.9-k1_all.deb'), 'y'.repeat(200)); // superseded, unreferenced
  write(path.join(all, 'b_1.0-k1_all.deb'), 'z'.repeat(300)); // only in a kept generation
  write(path.join(all, 'b_0.1-k1_all.deb'), 'w'.repeat(7)); // superseded, unreferenced
  finishedBulk('bookworm', 't1');
  store.bulks.replacePackages('bookworm', 't1', [pkgRow('misc/a', 'All/a_1.0-k1_all.deb')]);
  const repo = path.join(home, 'repos/bookworm-t1');
  write(path.join(repo, 'repo.json'), JSON.stringify({ jail: 'bookworm', tree: 't1', arch: 'amd64' }));
  write(path.join(repo, 'gen-1/pool/main/b/b/b_1.0-k1_all.deb'), 'z'.repeat(300));
  write(path.join(repo, 'gen-2/pool/main/a/a/a_1.0-k1_all.deb'), 'x'.repeat(100));
  fs.symlinkSync('gen-2', path.join(repo, 'current'));
  // A pair whose tree was deleted, with records; a folder no registered pair makes; a pair with a running bulk.
  write(path.join(home, 'packages/bookworm-gone/All/g_1.0-k1_all.deb'), 'g'.repeat(50));
  finishedBulk('bookworm', 'gone');
  store.bulks.replacePackages('bookworm', 'gone', [pkgRow('misc/g', 'All/g_1.0-k1_all.deb')]);
  write(path.join(home, 'packages/stray/All/s.deb'), 's'.repeat(5));
  write(path.join(home, 'packages/bookworm-t2/All/c_1.0-k1_all.deb'), 'c'.repeat(11)); // not recorded yet: the bulk runs
  runningBulk('bookworm', 't2');

  const dry = cleanPackages({ home, store, dryRun: true });
  assert.deepEqual(
    dry.removed.map((r) => [r.path, r.files, r.bytes]),
    [
      ['packages/bookworm-gone', 1, 50],
      ['packages/bookworm-t1/All/a_0.9-k1_all.deb', 1, 200],
      ['packages/bookworm-t1/All/b_0.1-k1_all.deb', 1, 7],
      ['packages/stray', 1, 5],
    ],
  );
  assert.equal(dry.files, 4);
  assert.equal(dry.bytes, 262);
  assert.match(dry.removed[0]!.why, /tree gone no longer registered/);
  assert.deepEqual(
    dry.spared.map((s) => s.path),
    ['packages/bookworm-t2'],
  );
  assert.ok(fs.existsSync(path.join(all, 'a_0.9-k1_all.deb')), 'a dry run removes nothing');
  assert.equal(store.bulks.packages('bookworm', 'gone').length, 1, 'a dry run keeps the records');

  const real = cleanPackages({ home, store });
  assert.deepEqual(real.removed, dry.removed);
  assert.deepEqual(fs.readdirSync(all).sort(), ['a_1.0-k1_all.deb', 'b_1.0-k1_all.deb']);
  assert.deepEqual(fs.readdirSync(path.join(home, 'packages')).sort(), ['bookworm-t1', 'bookworm-t2']);
  assert.ok(
    fs.existsSync(path.join(home, 'packages/bookworm-t2/All/c_1.0-k1_all.deb')),
    "the running bulk's package stays",
  );
  assert.equal(store.bulks.packages('bookworm', 'gone').length, 0, "the gone pair's records are dropped");
  assert.equal(cleanPackages({ home, store }).files, 0, 'nothing left to clean');
});

test('clean distfiles: only sha256s no recipe of a registered tree names go, with their links, stale downloads and bad files', async () => {
  const [need, needBroken, unused, unusedToo] = ['needed', 'needed-by-invalid', 'unused', 'unused-too'].map((t) => ({
    text: t,
    sha: sha(t),
  }));
  await addTree(store, home, { name: 't1', path: makeTree('t1', { 'misc/a': { sources: [need!.sha] } }) });
  await addTree(store, home, {
    name: 't2',
    path: makeTree('t2', { 'misc/b': { sources: [needBroken!.sha], broken: true } }),
  });
  const cache = path.join(home, 'distfiles');
  for (const f of [need!, needBroken!, unused!, unusedToo!]) {
    write(path.join(cache, 'sha256', f.sha.slice(0, 2), f.sha), f.text);
    fs.mkdirSync(path.join(cache, 'by-name'), { recursive: true });
    fs.symlinkSync(
      path.relative(path.join(cache, 'by-name'), path.join(cache, 'sha256', f.sha.slice(0, 2), f.sha)),
      path.join(cache, 'by-name', `${f.text}.tar.gz`),
    );
  }
  fs.symlinkSync('../sha256/00/nothing', path.join(cache, 'by-name', 'dangling.tar.gz'));
  const dead = await run('sh', ['-c', 'echo $$']);
  write(path.join(cache, '.tmp', `${dead.stdout.trim()}.abc.def.old.tar.gz`), 'partial');
  write(path.join(cache, '.tmp', `${process.pid}.abc.def.live.tar.gz`), 'in progress');
  write(path.join(cache, '.bad', '0123456789abcdef.x.tar.gz'), 'bad bytes');

  const dry = await cleanDistfiles({ home, store, dryRun: true });
  const sorted = (p: string[]): string[] => [...p].sort();
  const expected = sorted([
    `distfiles/sha256/${unused!.sha.slice(0, 2)}/${unused!.sha}`,
    `distfiles/sha256/${unusedToo!.sha.slice(0, 2)}/${unusedToo!.sha}`,
    'distfiles/by-name/unused.tar.gz',
    'distfiles/by-name/unused-too.tar.gz',
    'distfiles/by-name/dangling.tar.gz',
    `distfiles/.tmp/${dead.stdout.trim()}.abc.def.old.tar.gz`,
    'distfiles/.bad/0123456789abcdef.x.tar.gz',
  ]);
  assert.deepEqual(sorted(dry.removed.map((r) => r.path)), expected);
  assert.equal(
    dry.bytes,
    dry.removed.reduce((s, r) => s + r.bytes, 0),
  );
  assert.ok(dry.bytes >= 'unused'.length + 'unused-too'.length + 'partial'.length + 'bad bytes'.length);
  assert.ok(fs.existsSync(path.join(cache, 'sha256', unused!.sha.slice(0, 2), unused!.sha)), 'dry run');
  const real = await cleanDistfiles({ home, store });
  assert.deepEqual(sorted(real.removed.map((r) => r.path)), expected);
  for (const f of [need!, needBroken!])
    assert.equal(fs.readFileSync(path.join(cache, 'by-name', `${f.text}.tar.gz`), 'utf8'), f.text);
  assert.ok(!fs.existsSync(path.join(cache, 'sha256', unused!.sha.slice(0, 2))), 'an emptied prefix folder goes');
  assert.ok(fs.existsSync(path.join(cache, '.tmp', `${process.pid}.abc.def.live.tar.gz`)), 'a live download stays');

  // A tree that cannot be scanned stops the clean: what it needs is unknown.
  fs.rmSync(path.join(trees, 't2'), { recursive: true });
  await assert.rejects(
    () => cleanDistfiles({ home, store }),
    (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_TREE_INVALID' && /t2/.test(e.message),
  );
  // A shared cache (a symbolic link) is left alone.
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-clean-shared-'));
  try {
    fs.rmSync(path.join(trees, 't1'), { recursive: true });
    store.deleteTree('t1');
    store.deleteTree('t2');
    fs.renameSync(cache, path.join(other, 'distfiles'));
    fs.symlinkSync(path.join(other, 'distfiles'), cache);
    const shared = await cleanDistfiles({ home, store });
    assert.equal(shared.files, 0);
    assert.equal(shared.spared.length, 1);
    assert.ok(fs.existsSync(path.join(other, 'distfiles', 'sha256', need!.sha.slice(0, 2), need!.sha)));
  } finally {
    fs.rmSync(other, { recursive: true, force: true });
  }
});

test('clean logs: all but the newest N bulks per pair, never a running bulk, and logs of unknown bulks', async () => {
  const running = runningBulk('bookworm', 'a'); // oldest, still running
  const a = [finishedBulk('bookworm', 'a'), finishedBulk('bookworm', 'a', 'failed'), finishedBulk('bookworm', 'a')];
  const b = finishedBulk('bookworm', 'b');
  for (const id of [running, ...a, b, 99]) write(path.join(home, 'logs', String(id), 'misc_x.log'), `log of ${id}\n`);
  write(path.join(home, 'logs', String(a[0]), 'events.jsonl'), '{}\n');
  const dry = cleanLogs({ home, store, keep: 2, dryRun: true });
  assert.deepEqual(
    dry.removed.map((r) => [r.path, r.files]),
    [
      [`logs/${a[0]}`, 2],
      ['logs/99', 1],
    ],
  );
  assert.equal(dry.bytes, `log of ${a[0]}\n`.length + 3 + 'log of 99\n'.length);
  assert.ok(fs.existsSync(path.join(home, 'logs', String(a[0]))));
  cleanLogs({ home, store, keep: 2 });
  assert.deepEqual(
    fs
      .readdirSync(path.join(home, 'logs'))
      .map(Number)
      .sort((x, y) => x - y),
    [running, a[1], a[2], b],
  );
});

test('clean ccache: every per-port compiler cache goes, but those of a running bulk', async () => {
  runningBulk('bookworm', 'busy');
  const idle = ccacheDir(home, 'bookworm', 'idle', 'devel/x');
  const busy = ccacheDir(home, 'bookworm', 'busy', 'devel/x');
  write(path.join(idle, 'a', 'obj.o'), 'object');
  write(path.join(idle, 'ccache.conf'), 'max_size = 2G\n');
  write(path.join(busy, 'b', 'obj.o'), 'object');
  const dry = cleanCcache({ home, store, dryRun: true });
  assert.deepEqual(
    dry.removed.map((r) => [r.path, r.files]),
    [['cache/ccache/bookworm/idle', 2]],
  );
  assert.deepEqual(
    dry.spared.map((s) => s.path),
    ['cache/ccache/bookworm/busy'],
  );
  assert.ok(fs.existsSync(idle));
  cleanCcache({ home, store });
  assert.ok(!fs.existsSync(idle));
  assert.ok(fs.existsSync(path.join(busy, 'b', 'obj.o')));
});

test('kiln clean: the CLI reports in text and JSON, reads keep_generations, and refuses a wrong target', async () => {
  const ids = [finishedBulk('bookworm', 'a'), finishedBulk('bookworm', 'a'), finishedBulk('bookworm', 'a')];
  for (const id of ids) write(path.join(home, 'logs', String(id), 'x.log'), 'abc');
  fs.writeFileSync(path.join(home, 'kiln.yaml'), 'keep_generations: 1\n');
  const out: string[] = [];
  const err: string[] = [];
  const ctx = {
    out: (t: string) => {
      out.push(t);
    },
    err: (t: string) => {
      err.push(t);
    },
    home,
  };
  assert.equal(await main(['clean', 'logs', '--dry-run', '--json'], ctx), 0, err.join('\n'));
  const r = JSON.parse(out.pop()!) as { dryRun: boolean; files: number; bytes: number; removed: { path: string }[] };
  assert.deepEqual(
    { dryRun: r.dryRun, files: r.files, bytes: r.bytes, paths: r.removed.map((x) => x.path) },
    { dryRun: true, files: 2, bytes: 6, paths: [`logs/${ids[0]}`, `logs/${ids[1]}`] },
  );
  assert.equal(await main(['clean', 'logs'], ctx), 0);
  assert.match(
    out.pop()!,
    /^kiln clean logs: removed 2 files, 6 B \(2 entries\)\n {2}removed logs\/\d+ \(1 file, 3 B\): bulk \d+ \(jail bookworm, tree a, done\) is older than the newest 1 of its pair/,
  );
  assert.deepEqual(fs.readdirSync(path.join(home, 'logs')), [String(ids[2])]);
  assert.equal(await main(['clean', 'everything'], ctx), 2);
  assert.match(err.join('\n'), /packages, distfiles, logs, sandboxes, ccache or layers/);
});
