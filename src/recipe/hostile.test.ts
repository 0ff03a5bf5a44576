/**
 * Hostile recipes (issue 14): a tree written by an attacker. Files that would hang kiln (FIFOs), never end
 * (devices) or reach outside the tree (symlinks) are refused without being read; prototype keys, control
 * characters and absurd sizes are located problems; a flood of problems prints at most 51 lines.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadPort, loadPortLazy, newLoadMemo, parseRecipe, parseRecipeLazy, portFolderProblems } from './index.js';
import { InputError, formatProblems } from '../util/errors.js';
import { hostileFindings } from './hostile.js';
import { run } from '../util/exec.js';

const BASE = 'version: "1.0"\nsummary: a port\nbuild:\n  system: make\n';
let tree = '';
let secret = '';

before(() => {
  tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-hostile-recipe-'));
  secret = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-hostile-keys-')), 'secret.asc');
  fs.writeFileSync(secret, 'PRIVATE KEY\n', { mode: 0o600 });
});
after(() => {
  fs.rmSync(tree, { recursive: true, force: true });
  fs.rmSync(path.dirname(secret), { recursive: true, force: true });
});

/** A port folder `misc/NAME` in the tree, with `port.yaml` written unless `recipe` is null. */
function port(name: string, recipe: string | null = BASE): string {
  const dir = path.join(tree, 'misc', name);
  fs.mkdirSync(dir, { recursive: true });
  if (recipe !== null) fs.writeFileSync(path.join(dir, 'port.yaml'), recipe);
  return dir;
}

function problemsOf(dir: string): string[] {
  const r = loadPort(dir, `misc/${path.basename(dir)}`, 'main');
  assert.equal(r.port, undefined, 'the port is refused');
  return r.problems.map((p) => `${p.path}:${p.line}:${p.column}: ${p.field}: ${p.message}`);
}

test('a FIFO as port.yaml is refused without blocking', { timeout: 10_000 }, async () => {
  const dir = port('fifo', null);
  await run('mkfifo', [path.join(dir, 'port.yaml')]);
  const [p] = problemsOf(dir);
  assert.match(p!, /port\.yaml:1:1: -: not a regular file \(a FIFO\)/);
});

test('a FIFO as a patch is refused without blocking, naming the patch', { timeout: 10_000 }, async () => {
  const dir = port('fifo-patch', `${BASE}patches:\n  - fix.patch\n`);
  await run('mkfifo', [path.join(dir, 'fix.patch')]);
  const [p] = problemsOf(dir);
  assert.match(p!, /patches\[0\]: .*fix\.patch: not a regular file \(a FIFO\)/);
});

test('a socket and a device as port.yaml are refused', { timeout: 10_000 }, async (t) => {
  const dir = port('socket', null);
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(path.join(dir, 'port.yaml'), () => r()));
  try {
    assert.match(problemsOf(dir)[0]!, /not a regular file \(a socket\)/);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  if (process.getuid?.() !== 0) {
    t.diagnostic('device case needs root');
    return;
  }
  const dev = port('device', null);
  await run('mknod', [path.join(dev, 'port.yaml'), 'c', '1', '5']); // /dev/zero: a read would never end
  assert.match(problemsOf(dev)[0]!, /not a regular file \(a device\)/);
});

test('key theft by a symlinked port.yaml, patch or port file leaving the tree is refused', () => {
  const a = port('link-recipe', null);
  fs.symlinkSync(secret, path.join(a, 'port.yaml'));
  assert.match(problemsOf(a)[0]!, /not a regular file \(a symlink to .*secret\.asc, outside the tree\)/);

  const b = port('link-patch', `${BASE}patches:\n  - fix.patch\n`);
  fs.symlinkSync(secret, path.join(b, 'fix.patch'));
  assert.match(problemsOf(b)[0]!, /patches\[0\]: .*fix\.patch: not a regular file \(a symlink to .*outside the tree\)/);

  const c = port('link-file');
  fs.mkdirSync(path.join(c, 'files'));
  fs.symlinkSync(secret, path.join(c, 'files', 'key.asc'));
  assert.match(problemsOf(c)[0]!, /files\/key\.asc:1:1: -: not a regular file \(a symlink to .*outside the tree\)/);

  const d = port('fifo-file');
  fs.mkdirSync(path.join(d, 'files'));
  fs.symlinkSync('/dev/zero', path.join(d, 'files', 'zero'));
  assert.match(problemsOf(d)[0]!, /files\/zero:1:1: -: not a regular file/);
});

test('a tree scan leaves port files to the build, which refuses them naming each file', () => {
  const c = port('deferred');
  fs.mkdirSync(path.join(c, 'files'));
  fs.symlinkSync(secret, path.join(c, 'files', 'key.asc'));
  const lazy = loadPortLazy(c, 'misc/deferred', 'main', newLoadMemo({ deferFiles: true }));
  assert.ok(lazy.port, 'a scan loads the recipe without listing the folder');
  const found = portFolderProblems(lazy.port).map((p) => `${p.path}:${p.line}:${p.column}: ${p.field}: ${p.message}`);
  assert.equal(found.length, 1);
  assert.match(
    found[0]!,
    /files\/key\.asc:1:1: -: not a regular file \(a symlink to .*secret\.asc, outside the tree\)/,
  );
  // A patch that is a symlink staying in the tree is not a problem of the folder.
  const ok = port('deferred-ok', `${BASE}patches:\n  - fix.patch\n`);
  fs.writeFileSync(path.join(ok, 'real.patch'), '');
  fs.symlinkSync('real.patch', path.join(ok, 'fix.patch'));
  const okLoad = loadPortLazy(ok, 'misc/deferred-ok', 'main', newLoadMemo({ deferFiles: true }));
  assert.deepEqual(okLoad.problems, []);
  assert.deepEqual(portFolderProblems(okLoad.port!), []);
});

test('a port folder that is a symlink out of the tree is refused', () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-hostile-outside-'));
  try {
    fs.writeFileSync(path.join(outside, 'port.yaml'), BASE);
    fs.symlinkSync(outside, path.join(tree, 'misc', 'evil-dir'));
    assert.match(
      problemsOf(path.join(tree, 'misc', 'evil-dir')).join('\n'),
      /evil-dir:1:1: -: not a regular folder \(a symlink to .*outside the tree\)/,
    );
    // Nothing is read through it: a broken recipe there gives the folder's problem only, none of its text.
    fs.writeFileSync(path.join(outside, 'port.yaml'), 'version: "SECRET-VALUE-123"\nsummary: [\n');
    const only = problemsOf(path.join(tree, 'misc', 'evil-dir'));
    assert.equal(only.length, 1, only.join('\n'));
    assert.doesNotMatch(only[0]!, /SECRET/);
    // A tree scan, which leaves the folder's other files to the build, still refuses the folder itself.
    const scanned = loadPortLazy(
      path.join(tree, 'misc', 'evil-dir'),
      'misc/evil-dir',
      'main',
      newLoadMemo({ deferFiles: true }),
    );
    assert.equal(scanned.port, undefined);
    assert.match(scanned.problems[0]!.message, /not a regular folder \(a symlink to .*outside the tree\)/);
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test("a category folder that is a symlink out of the tree is refused, with a memo shared by a scan's ports", () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-hostile-outside-'));
  try {
    fs.mkdirSync(path.join(outside, 'stolen'));
    fs.writeFileSync(path.join(outside, 'stolen', 'port.yaml'), BASE);
    fs.symlinkSync(outside, path.join(tree, 'evilcat'));
    // A category symlink that stays in the tree, and a port folder symlinked inside the tree, are followed.
    port('real-one');
    fs.symlinkSync('misc', path.join(tree, 'alias'));
    fs.symlinkSync('real-one', path.join(tree, 'misc', 'alias-one'));
    const memo = newLoadMemo();
    for (let round = 0; round < 2; round++) {
      const evil = loadPortLazy(path.join(tree, 'evilcat', 'stolen'), 'evilcat/stolen', 'main', memo);
      assert.equal(evil.port, undefined, 'the port under the escaping category is refused');
      assert.match(evil.problems[0]!.message, /not a regular folder \(a symlink to .*stolen, outside the tree\)/);
      for (const [dir, origin] of [
        [path.join(tree, 'alias', 'real-one'), 'alias/real-one'],
        [path.join(tree, 'misc', 'alias-one'), 'misc/alias-one'],
        [path.join(tree, 'misc', 'real-one'), 'misc/real-one'],
      ] as const) {
        const ok = loadPortLazy(dir, origin, 'main', memo);
        assert.deepEqual(ok.problems, [], origin);
        assert.ok(ok.port, origin);
      }
    }
  } finally {
    fs.rmSync(path.join(tree, 'evilcat'), { force: true });
    fs.rmSync(path.join(tree, 'alias'), { force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('key theft by a patch path with .. is refused', () => {
  const dir = port('dotdot', `${BASE}patches:\n  - ../../../${path.relative('/', secret)}\n`);
  assert.match(problemsOf(dir).join('\n'), /patches\[0\]: must stay inside the port folder/);
});

test('a symlink that stays in the tree is still followed', () => {
  const shared = path.join(tree, 'misc', 'shared.patch');
  fs.writeFileSync(shared, '--- a\n+++ b\n');
  const dir = port('link-inside', `${BASE}patches:\n  - fix.patch\n`);
  fs.symlinkSync('../shared.patch', path.join(dir, 'fix.patch'));
  const r = loadPort(dir, 'misc/link-inside', 'main');
  assert.deepEqual(r.problems, []);
  assert.ok(r.port);
});

test('control characters in any string are problems located at the field', () => {
  for (const [extra, field] of [
    ['description: "ESC \\e[31m red"\n', 'description'],
    ['  env:\n    A: "bell\\a"\n', 'build.env.A'],
    ['  script: "echo \\x00"\n', 'build.script'],
    ['license: "MIT\\u0085"\n', 'license'],
  ] as const) {
    const text = extra.startsWith('  ') ? BASE + extra : `${BASE}${extra}`;
    const r = parseRecipe(text, 'port.yaml', 'misc/ctl');
    assert.equal(r.recipe, undefined, extra);
    assert.ok(
      r.problems.some((p) => p.field === field && /control character U\+/.test(p.message)),
      JSON.stringify(r.problems),
    );
  }
  // Raw (unescaped) control characters, and escapes that spell a prototype key, on the fast and lazy paths too.
  for (const [extra, field, what] of [
    ['description: raw \x07 bell\n', 'description', /control character U\+0007/],
    ["license: 'MIT\u0085'\n", 'license', /control character U\+0085/],
    ['  env:\n    "\\x5f_proto__": x\n', 'build.env.__proto__', /is not allowed/],
  ] as const) {
    for (const parse of [parseRecipe, parseRecipeLazy]) {
      const r = parse(`${BASE}${extra}`, 'port.yaml', 'misc/ctl');
      assert.equal(r.recipe, undefined, extra);
      assert.ok(
        r.problems.some((p) => p.field === field && what.test(p.message)),
        JSON.stringify(r.problems),
      );
    }
  }
  const words = parseRecipeLazy(`${BASE}description: a constructor of prototype objects\n`, 'port.yaml', 'misc/ctl');
  assert.deepEqual(words.problems, [], 'the words alone are fine');
  const fine = parseRecipe(`${BASE}  env:\n    A: "make\\tall\\nmake install"\n`, 'port.yaml', 'misc/ctl');
  assert.deepEqual(fine.problems, [], 'tab and newline are fine');
});

test('the hostile walk is skipped only for a text that cannot hold a hostile value', () => {
  const messages = (data: unknown, text: string) =>
    hostileFindings(data, text).map((f) => `${f.path.join('.')}: ${f.message}`);
  // Data as a parser makes it from each text (a parser that decodes escapes, for the backslash ones).
  assert.match(messages({ description: 'a\x07' }, 'description: "a\\a"\n').join(), /description: .*U\+0007/);
  assert.match(messages({ description: 'a\x07' }, 'description: a\x07\n').join(), /description: .*U\+0007/);
  assert.match(messages({ description: 'a\x85' }, 'description: a\x85\n').join(), /U\+0085/);
  assert.match(
    messages(JSON.parse('{"env":{"__proto__":"x"}}'), 'env:\n  "\\x5f_proto__": x\n').join(),
    /is not allowed/,
  );
  assert.match(
    messages(JSON.parse('{"env":{"constructor":"x"}}'), 'env:\n  constructor: x\n').join(),
    /is not allowed/,
  );
  const long = 'x'.repeat(70_000);
  assert.match(messages({ build: { script: long } }, `build:\n  script: ${long}\n`).join(), /at most 65536/);
  assert.deepEqual(messages({ description: 'plain' }, 'description: plain\n'), []);
});

test('absurd sizes: version > 128, summary > 256, any string > 64 KiB', () => {
  const v = parseRecipe(BASE.replace('"1.0"', `"1.${'0'.repeat(200)}"`), 'port.yaml', 'misc/s');
  assert.ok(
    v.problems.some((p) => p.field === 'version' && /at most 128/.test(p.message)),
    JSON.stringify(v.problems),
  );
  const s = parseRecipe(BASE.replace('a port', 'x'.repeat(300)), 'port.yaml', 'misc/s');
  assert.ok(s.problems.some((p) => p.field === 'summary' && /at most 256/.test(p.message)));
  const mb = parseRecipe(BASE.replace('"1.0"', `"1.${'1'.repeat(1 << 20)}"`), 'port.yaml', 'misc/s');
  assert.ok(
    mb.problems.some((p) => p.field === 'version' && p.line === 1),
    'a 1 MB version is a problem at line 1',
  );
  const big = parseRecipe(`${BASE}  script: "${'y'.repeat(70 * 1024)}"\n`, 'port.yaml', 'misc/s');
  assert.ok(big.problems.some((p) => p.field === 'build.script' && /at most 65536/.test(p.message)));
});

test('__proto__, constructor and prototype keys are problems anywhere (options, env, nested)', () => {
  const cases: [string, string][] = [
    ['options:\n  __proto__:\n    default: true\n    description: d\n', 'options.__proto__'],
    ['options:\n  x:\n    default: true\n    description: d\n    constructor: 1\n', 'options.x.constructor'],
    ['  env:\n    __proto__: polluted\n', 'build.env.__proto__'],
    ['  env: {"__proto__": {"isAdmin": true}}\n', 'build.env.__proto__'],
    ['  env:\n    prototype: x\n', 'build.env.prototype'],
    ['depends:\n  build: []\n  constructor: [x]\n', 'depends.constructor'],
  ];
  for (const [extra, field] of cases) {
    const text = extra.startsWith('  ') ? BASE + extra : `${BASE}${extra}`;
    const r = parseRecipe(text, 'port.yaml', 'misc/p');
    assert.equal(r.recipe, undefined, extra);
    assert.ok(
      r.problems.some((p) => p.field === field && /is not allowed/.test(p.message)),
      `${field}: ${JSON.stringify(r.problems)}`,
    );
  }
  assert.equal(({} as Record<string, unknown>).isAdmin, undefined, 'no prototype was polluted');
});

test('100,000 duplicate entries print at most 51 lines', () => {
  const deps = Array.from({ length: 100_000 }, () => '    - devel/same').join('\n');
  const r = parseRecipe(`${BASE}depends:\n  build:\n${deps}\n`, 'port.yaml', 'misc/d');
  assert.equal(r.recipe, undefined);
  assert.ok(r.problems.length <= 51, `${r.problems.length} problems`);
  const more = /^and (\d+) more problems$/.exec(r.problems[r.problems.length - 1]!.message);
  assert.ok(more && Number(more[1]) >= 99_900, r.problems[r.problems.length - 1]!.message);
  const lines = new InputError('KILN_E_RECIPE', r.problems).message.split('\n');
  assert.ok(lines.length <= 51);
  const many = Array.from({ length: 1000 }, (_, i) => ({
    path: `p${i}`,
    line: 1,
    column: 1,
    field: '-',
    message: 'bad',
  }));
  const printed = formatProblems(many);
  assert.equal(printed.length, 51);
  assert.equal(printed[50], 'and 950 more problems');
});
