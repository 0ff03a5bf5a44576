import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as yamlParse } from 'yaml';
import { formatProblem } from '../util/errors.js';
import { assertGolden } from '../util/golden.js';
import {
  RecipeSchema,
  effectiveOptions,
  loadPort,
  loadPortLazy,
  locateField,
  parseList,
  parseRecipe,
} from './index.js';
import { fastYaml } from './fastyaml.js';
import { parseSlow } from './parse.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '__fixtures__');
const caseNames = (kind: string) =>
  fs
    .readdirSync(path.join(fixtures, kind))
    .filter((f) => f.endsWith('.yaml'))
    .sort();

test('every invalid fixture gives located problems, matching the golden file', () => {
  const names = caseNames('invalid');
  assert.ok(names.length >= 35, `only ${names.length} invalid fixtures`);
  const out: string[] = [];
  for (const file of names) {
    const rel = `invalid/${file}`;
    const res = parseRecipe(fs.readFileSync(path.join(fixtures, rel)), rel, `test/${file.replace(/\.yaml$/, '')}`);
    assert.equal(res.recipe, undefined, `${rel} was accepted`);
    assert.ok(res.problems.length > 0, `${rel} gave no problem`);
    for (const p of res.problems) {
      assert.equal(p.path, rel);
      assert.ok(p.line >= 1 && p.column >= 1 && p.field !== '' && p.message !== '', `${rel}: ${formatProblem(p)}`);
    }
    out.push(...res.problems.map(formatProblem));
  }
  assertGolden(path.join(fixtures, 'invalid.golden'), `${out.join('\n')}\n`);
});

test('the full example of port.md parses with every field, and defaults are filled in', () => {
  const text = fs.readFileSync(path.join(fixtures, 'valid/port-md-example.yaml'));
  const { recipe, problems } = parseRecipe(text, 'port.yaml', 'devel/hello');
  assert.deepEqual(problems, []);
  assert.ok(recipe);
  assert.equal(recipe.name, 'hello');
  assert.equal(recipe.version, '2.10');
  assert.equal(recipe.description, 'Prints a friendly greeting.\n');
  assert.equal(recipe.sources[0]!.strip, 1, 'strip defaults to 1');
  assert.equal(recipe.sources[0]!.filename, undefined);
  assert.deepEqual(recipe.depends, {
    build: ['devel/oniguruma'],
    run: ['devel/oniguruma'],
    system: ['pkg-config'],
    system_run: ['libc6'],
  });
  assert.deepEqual(recipe.options.NLS, {
    default: false,
    description: 'Native language support',
    configure_args: { on: ['--enable-nls'], off: ['--disable-nls'] },
  });
  assert.equal(recipe.build.parallel, true);
  assert.deepEqual(recipe.build.limits, {});
  assert.deepEqual(recipe.build.env, { CFLAGS: '-O2' });
  assert.equal(recipe.install.postinst, 'true\n');
});

test('a minimal recipe gets every default', () => {
  const { recipe } = parseRecipe(
    fs.readFileSync(path.join(fixtures, 'valid/minimal.yaml'), 'utf8'),
    'port.yaml',
    'misc/small',
  );
  assert.ok(recipe);
  assert.equal(recipe.revision, 1);
  assert.equal(recipe.arch, 'any');
  assert.deepEqual(recipe.sources, []);
  assert.deepEqual(recipe.patches, []);
  assert.deepEqual(recipe.depends, { build: [], run: [], system: [], system_run: [] });
  assert.deepEqual(recipe.options, {});
  assert.deepEqual(recipe.build.configure_args, []);
  assert.deepEqual(recipe.install, { conffiles: [] });
});

test('every valid fixture is accepted and equals a plain YAML parse validated by the schema', () => {
  for (const file of caseNames('valid')) {
    const text = fs.readFileSync(path.join(fixtures, 'valid', file), 'utf8');
    const res = parseRecipe(text, file, `test/${file.replace(/\.yaml$/, '')}`);
    assert.deepEqual(res.problems.map(formatProblem), [], file);
    assert.deepEqual(res.recipe, RecipeSchema.parse(yamlParse(text)), file);
  }
});

test('the fast path takes plain recipes and leaves YAML features to the full parser', () => {
  for (const file of [
    'port-md-example.yaml',
    'minimal.yaml',
    'script-options.yaml',
    'debian-system.yaml',
    'debian-overlay.yaml',
  ]) {
    const text = fs.readFileSync(path.join(fixtures, 'valid', file), 'utf8');
    assert.notEqual(fastYaml(text), undefined, `${file} should be in the fast subset`);
    assert.deepEqual(fastYaml(text), yamlParse(text), file);
  }
  assert.equal(fastYaml(fs.readFileSync(path.join(fixtures, 'valid/yaml-features.yaml'), 'utf8')), undefined);
  const features = parseRecipe(
    fs.readFileSync(path.join(fixtures, 'valid/yaml-features.yaml'), 'utf8'),
    'p',
    'test/features',
  );
  assert.equal(features.recipe?.license, 'MIT AND BSD-2-Clause');
  assert.deepEqual(features.recipe?.build.env, { V: '4.1' });
});

/** fastYaml's answer for `text`, which must be yaml's value with the same key order everywhere. */
function sameAsYaml(text: string, ctx: string): void {
  const f = fastYaml(text);
  assert.notEqual(f, undefined, `${ctx}: should be in the fast subset`);
  assert.deepStrictEqual(f, yamlParse(text), ctx);
  assert.equal(JSON.stringify(f), JSON.stringify(yamlParse(text)), `${ctx}: key order`);
}

test('fast YAML mappings: known keys, near-known keys, key order, cached literals and their fallbacks', () => {
  // Keys one character off a known key (trie prefixes and extensions) are sliced, not taken for the known one.
  sameAsYaml(
    'nam: 1\nnames: 2\nname: 3\nversio: a\nversion2: b\no: c\non_: d\nonx: e\nCFLAG: f\nCFLAGSX: g\n',
    'near keys',
  );
  // The same known keys in other orders: each order its own literal (and twice, from the cache).
  const orders = [
    'name: a\nversion: b\nsummary: c\n',
    'summary: c\nname: a\nversion: b\n',
    'version: b\nsummary: c\nname: a\n',
  ];
  for (let i = 0; i < 6; i++) sameAsYaml(orders[i % 3]!, `order ${i % 3}`);
  // Two key sequences with the same key-sequence hash: the cache must tell them apart (falls back to stores).
  const a = ['build', 'memory_mb', 'test', 'homepage', 'deb_build_profiles', 'conffiles', 'url'];
  const b = ['arch', 'run', 'parallel', 'system', 'configure_args', 'sources', 'CFLAGS'];
  for (const keys of [a, b, a, b]) sameAsYaml(keys.map((k, i) => `${k}: ${i}\n`).join(''), keys.join(','));
  // Known and unknown keys mixed, nested, in flow mappings too.
  sameAsYaml(
    'options:\n  NLS:\n    default: true\n    FOO: x\n  X11: {default: false, BAR: [1, 2], on: y}\nZ: {}\n',
    'mixed',
  );
  // Duplicates, known or not, block or flow: not the fast parser's.
  for (const dup of [
    'a: 1\nb: 2\na: 3\n',
    'name: 1\nname: 2\n',
    'x: {FOO: 1, FOO: 2}\n',
    'x: {on: 1, off: 2, on: 3}\n',
  ])
    assert.equal(fastYaml(dup), undefined, dup);
  // Up to 64 keys per mapping; more are left to the full parser.
  const many = (n: number) => Array.from({ length: n }, (_v, i) => `K${i}: ${i}\n`).join('');
  sameAsYaml(many(64), '64 keys');
  assert.equal(fastYaml(many(65)), undefined);
  // A parse abandoned deep inside nested mappings leaves nothing behind for the next text.
  assert.equal(fastYaml('a:\n  b:\n    c: 1\n    d: &x 2\n'), undefined);
  sameAsYaml('a:\n  b:\n    c: 1\n  e: 2\nf: 3\n', 'after an abandoned parse');
  // Comments after plain scalars (the resumed searches for # and :), with and without a space before #.
  sameAsYaml('a: x#y # c\nb: u:v\nc: https://e.org/x#y\nd: w # a: b\ne: z   \n', 'comments and colons');
  for (const bad of ['a: x: y\n', 'a: x:\n', 'a: x: # c\n']) assert.equal(fastYaml(bad), undefined, bad);
});

test('a build.system: debian overlay recipe needs no version or summary and carries DEB_BUILD_OPTIONS / PROFILES words', () => {
  const text = fs.readFileSync(path.join(fixtures, 'valid/debian-overlay.yaml'), 'utf8');
  const fast = parseRecipe(text, 'p', 'utils/hello');
  const slow = parseSlow(text, 'p', 'utils/hello');
  assert.deepEqual(fast.problems, []);
  assert.deepEqual(fast, slow, 'fast path and positioned path agree');
  const r = fast.recipe!;
  assert.equal(r.version, '', 'the tree fills the archive version in later');
  assert.equal(r.summary, '');
  assert.equal(r.revision, 2);
  assert.deepEqual(r.patches, ['greeting.patch']);
  assert.deepEqual(r.sources, []);
  assert.deepEqual(r.build.deb_build_options, ['nodoc', 'parallel=4']);
  assert.deepEqual(r.build.deb_build_profiles, ['nodoc', 'pkg.hello.noman']);
  assert.deepEqual(r.options.DOCS!.deb_build_options, { on: [], off: ['nodoc'] });
  assert.deepEqual(r.options.DOCS!.deb_build_profiles, { on: [], off: ['nodoc'] });
  // Other systems: the words default to empty lists, and version / summary stay required.
  const plain = parseRecipe('version: "1"\nsummary: s\nbuild: {system: make}\n', 'p', 'devel/xy').recipe!;
  assert.deepEqual([plain.build.deb_build_options, plain.build.deb_build_profiles], [[], []]);
  assert.deepEqual(parseRecipe('build: {system: make}\n', 'p', 'devel/xy').problems.map(formatProblem), [
    'p:1:1: version: is missing: it is required (a string)',
    'p:1:1: summary: is missing: it is required (a string)',
  ]);
  // Explicitly empty lists are "absent" for debian; a given version is still checked.
  assert.ok(parseRecipe('sources: []\nbuild: {system: debian, make_args: []}\n', 'p', 'devel/xy').recipe);
  assert.deepEqual(
    parseRecipe('version: "2.10-3"\nbuild: {system: debian}\n', 'p', 'devel/xy').problems.map((p) => p.field),
    ['version'],
  );
});

test('a port may not be named by a NAME that is no package name unless name: is given', () => {
  const text = 'version: "1"\nsummary: s\nbuild: {system: make}\n';
  assert.deepEqual(
    parseRecipe(text, 'p', 'devel/Foo_Bar').problems.map((p) => p.field),
    ['name'],
  );
  assert.ok(parseRecipe(`name: foo-bar\n${text}`, 'p', 'devel/Foo_Bar').recipe);
});

test('problems are sorted by position and all reported at once', () => {
  const text = fs.readFileSync(path.join(fixtures, 'invalid/many-problems.yaml'));
  const { problems } = parseRecipe(text, 'm.yaml', 'test/many-problems');
  assert.ok(problems.length >= 8, problems.map(formatProblem).join('\n'));
  const keys = problems.map((p) => p.line * 1000 + p.column);
  assert.deepEqual(
    keys,
    [...keys].sort((a, b) => a - b),
  );
  assert.ok(problems.some((p) => p.field === 'depends.build[2]' && /itself/.test(p.message)));
  assert.ok(problems.some((p) => p.field === 'colour' && p.line === 13 && p.column === 1));
});

test('locateField points at list entries, keys and the nearest existing ancestor', () => {
  const text = 'version: "1"\nsummary: s\ndepends:\n  build: [a/b, c/d,\n    e/f]\nbuild:\n  system: make\n';
  assert.deepEqual(locateField('p', text, ['depends', 'build', 2]), { line: 5, column: 5 });
  assert.deepEqual(locateField('p', text, ['depends', 'build', 0]), { line: 4, column: 11 });
  assert.deepEqual(locateField('p', text, ['build', 'system']), { line: 7, column: 11 });
  assert.deepEqual(
    locateField('p', text, ['depends', 'run', 0]),
    { line: 4, column: 3 },
    'missing: the depends mapping',
  );
});

test('effectiveOptions overlays choices on defaults, ignores undeclared choices, sorts keys', () => {
  const { recipe } = parseRecipe(
    fs.readFileSync(path.join(fixtures, 'valid/script-options.yaml'), 'utf8'),
    'p',
    'x/tool',
  );
  assert.ok(recipe);
  assert.deepEqual(effectiveOptions(recipe, {}), { DOCS: true, MAN: false });
  const eff = effectiveOptions(recipe, { MAN: true, GONE: true });
  assert.deepEqual(eff, { DOCS: true, MAN: true });
  assert.deepEqual(Object.keys(effectiveOptions(recipe, { DOCS: false })), ['DOCS', 'MAN']);
});

test('loadPort reads port.yaml and patches, hashes them as documented, and locates a missing patch', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-recipe-'));
  try {
    const dir = path.join(root, 'devel', 'hello');
    fs.mkdirSync(path.join(dir, 'files'), { recursive: true });
    const recipe = 'version: "2.10"\nsummary: hi\npatches: [a.patch, files/b.patch]\nbuild:\n  system: make\n';
    fs.writeFileSync(path.join(dir, 'port.yaml'), recipe);
    fs.writeFileSync(path.join(dir, 'a.patch'), 'patch A\n');
    fs.writeFileSync(path.join(dir, 'files/b.patch'), 'patch B\n');
    const { port, problems } = loadPort(dir, 'devel/hello', 'main');
    assert.deepEqual(problems, []);
    assert.ok(port);
    const want = createHash('sha256')
      .update(recipe)
      .update('a.patch\0patch A\n')
      .update('files/b.patch\0patch B\n')
      .digest('hex');
    assert.equal(port.contentHash, want);
    assert.equal(port.pkgname, 'hello');
    assert.equal(port.layer, 'main');
    assert.equal(port.path, path.join(dir, 'port.yaml'));
    assert.equal(port.dir, dir);

    // Changing a patch changes the hash.
    fs.writeFileSync(path.join(dir, 'a.patch'), 'patch A2\n');
    assert.notEqual(loadPort(dir, 'devel/hello', 'main').port?.contentHash, want);

    fs.rmSync(path.join(dir, 'files/b.patch'));
    const missing = loadPort(dir, 'devel/hello', 'main');
    assert.equal(missing.port, undefined);
    assert.deepEqual(missing.problems.map(formatProblem), [
      `${path.join(dir, 'port.yaml')}:3:20: patches[1]: patch file "files/b.patch" does not exist in ${dir}`,
    ]);

    const none = loadPort(path.join(root, 'devel', 'nothing'), 'devel/nothing', 'main');
    assert.equal(none.problems.length, 1);
    assert.match(formatProblem(none.problems[0]!), /nothing\/port\.yaml:1:1: -: port\.yaml does not exist$/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('parseList reads origins, comments and blank lines; bad origins and repeats are located', () => {
  const text = '# my list\n\ndevel/a\n  lang/b   # inline comment\nnot-an-origin\ndevel/a\nx/y z/w\r\nwww/c\r\n';
  const { origins, problems } = parseList(text, 'pkglist.txt');
  assert.deepEqual(origins, ['devel/a', 'lang/b', 'www/c']);
  assert.deepEqual(problems.map(formatProblem), [
    'pkglist.txt:5:1: origin: "not-an-origin" is not an origin CATEGORY/NAME (such as devel/oniguruma)',
    'pkglist.txt:6:1: origin: devel/a is listed twice (first on line 3)',
    'pkglist.txt:7:1: origin: one origin per line; found "x/y z/w"',
  ]);
  assert.deepEqual(parseList('', 'empty'), { origins: [], problems: [] });
});

test('loadPort reads a recipe larger than its read buffer whole (hash and text), and loadPortLazy agrees', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-recipe-big-'));
  try {
    const dir = path.join(root, 'misc', 'big');
    fs.mkdirSync(dir, { recursive: true });
    // Strings stay under the 64 KiB a string may hold; comments make the file three read buffers long.
    const long = Array.from({ length: 800 }, (_, i) => `  line ${i} of a long description, ${'x'.repeat(40)}`).join(
      '\n',
    );
    const comments = Array.from({ length: 3000 }, (_, i) => `# comment ${i} ${'y'.repeat(60)}`).join('\n');
    const text = `version: "1.0"\nsummary: big\n${comments}\ndescription: |\n${long}\nbuild:\n  system: make\n`;
    assert.ok(Buffer.byteLength(text) > 3 * 64 * 1024);
    fs.writeFileSync(path.join(dir, 'port.yaml'), text);
    const { port, problems } = loadPort(dir, 'misc/big', 'main');
    assert.deepEqual(problems, []);
    assert.equal(port!.contentHash, createHash('sha256').update(text).digest('hex'));
    assert.equal(port!.recipe.description, `${long.replace(/^ {2}/gm, '')}\n`);
    const lazy = loadPortLazy(dir, 'misc/big', 'main');
    assert.equal(lazy.text, text);
    assert.deepEqual(lazy.port, port);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
