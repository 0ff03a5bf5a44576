/**
 * Fuzz-style robustness test: thousands of seeded random mutations of valid recipes (bytes, keys, types,
 * indentation, truncation). Each must be accepted or rejected with well-formed located problems, never
 * throw; and whenever the fast YAML subset parser answers, it must agree with the full parser exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { z as zod } from 'zod';
import { FAIL, compileSchema } from './compile.js';
import { fastYaml } from './fastyaml.js';
import { RecipeSchema } from './schema.js';
import { parseRecipe, parseSlow } from './parse.js';
import { parseRecipeLazy } from './lazy-parse.js';
import { LAZY_KEYS } from './shape.js';
import { prng } from '../util/prng.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const validDir = path.join(here, '__fixtures__', 'valid');
const seeds = fs
  .readdirSync(validDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => fs.readFileSync(path.join(validDir, f), 'utf8'));

const CHARS = [
  ':',
  '-',
  '[',
  ']',
  '{',
  '}',
  '#',
  '"',
  "'",
  '\t',
  ' ',
  '  ',
  '\n',
  '|',
  '>',
  '&',
  '*',
  '!',
  '%',
  '@',
  '\\',
  ',',
  '?',
  'a',
  'Z',
  '0',
  '9',
  '.',
  '/',
  '_',
  '$',
  '\u0000',
  '\r',
  '\u00e9',
  '\u2028',
  '\ufeff',
  '\ud83d\ude00',
  '~',
  '---\n',
  '...\n',
];
const VALUES = [
  '1',
  '-1',
  '0',
  '2.5',
  'true',
  'false',
  'null',
  '~',
  '[]',
  '{}',
  '"str"',
  "'s'",
  '[a, b]',
  '{a: 1}',
  'x: y',
  '|',
  '>-',
  '&anchor x',
  '*anchor',
  '!!str 5',
  '0o17',
  '0x1F',
  '1e3',
  '.inf',
  '"\\u00e9"',
  'https://example.org/x.tar.gz',
  'devel/x',
  'NLS',
  'debian',
  '[nodoc]',
];
const KEYS = [
  'version',
  'summary',
  'build',
  'system',
  'script',
  'depends',
  'options',
  'NLS',
  'sources',
  'url',
  'sha256',
  'strip',
  'sumary',
  'Version',
  'foo',
  'implies',
  'default',
  'env',
  'arch',
  'name',
  'patches',
  '"quoted"',
  '? complex',
  '<<',
  'deb_build_options',
  'deb_build_profiles',
  'configure_args',
];

/** One random mutation of `text`. */
function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const at = Math.floor(rnd() * (text.length + 1));
  const lines = text.split('\n');
  const li = Math.floor(rnd() * lines.length);
  switch (Math.floor(rnd() * 9)) {
    case 0:
      return text.slice(0, at) + pick(CHARS) + text.slice(at + 1); // replace a character
    case 1:
      return text.slice(0, at) + pick(CHARS) + text.slice(at); // insert
    case 2:
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 8)); // delete a few
    case 3: {
      // rename a key
      lines[li] = lines[li]!.replace(/^(\s*(?:- )?)[A-Za-z_]+:/, (_m, pre: string) => `${pre}${pick(KEYS)}:`);
      return lines.join('\n');
    }
    case 4: {
      // swap a value's type
      lines[li] = lines[li]!.replace(
        /^(\s*(?:- )?[A-Za-z_]+:|\s*-) .*$/,
        (_m, head: string) => `${head} ${pick(VALUES)}`,
      );
      return lines.join('\n');
    }
    case 5: {
      // indentation
      const d = Math.floor(rnd() * 5) - 2;
      lines[li] = d >= 0 ? ' '.repeat(d) + lines[li] : lines[li]!.replace(new RegExp(`^ {0,${-d}}`), '');
      return lines.join('\n');
    }
    case 6:
      return text.slice(0, at); // truncate
    case 7: {
      // duplicate or move a line
      const line = lines[li]!;
      lines.splice(Math.floor(rnd() * lines.length), 0, line);
      if (rnd() < 0.5) lines.splice(li, 1);
      return lines.join('\n');
    }
    default: {
      // a YAML value from the list, anywhere on a line
      lines[li] = `${lines[li]!.slice(0, Math.floor(rnd() * (lines[li]!.length + 1)))}${pick(VALUES)}`;
      return lines.join('\n');
    }
  }
}

test('2,000 random mutations of valid recipes: accepted, or well-formed located problems; never a throw', (t) => {
  const rnd = prng(20240521);
  let accepted = 0;
  let rejected = 0;
  let fast = 0;
  for (let n = 0; n < 2000; n++) {
    let text = seeds[n % seeds.length]!;
    const times = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < times; k++) text = mutate(text, rnd);
    const origin = 'test/fuzz';
    const file = `fuzz-${n}.yaml`;
    const res = parseRecipe(text, file, origin);
    const ctx = `mutant ${n}:\n${text}`;
    if (res.recipe) {
      accepted++;
      assert.deepEqual(res.problems, [], ctx);
    } else {
      rejected++;
      assert.ok(res.problems.length > 0, ctx);
      const lineCount = text.split('\n').length;
      for (const p of res.problems) {
        assert.equal(p.path, file, ctx);
        assert.ok(Number.isInteger(p.line) && p.line >= 1 && p.line <= lineCount + 1, `${ctx}\nline ${p.line}`);
        assert.ok(Number.isInteger(p.column) && p.column >= 1, `${ctx}\ncolumn ${p.column}`);
        assert.ok(typeof p.field === 'string' && p.field.length > 0, ctx);
        assert.ok(typeof p.message === 'string' && p.message.length > 0, ctx);
        assert.ok(!p.message.startsWith('internal error'), `${ctx}\n${p.message}`);
      }
    }
    // The fast subset parser, when it answers, must agree with the full parser exactly...
    const f = fastYaml(text);
    if (f !== undefined) {
      fast++;
      const doc = parseDocument(text);
      assert.deepEqual(
        [...doc.errors, ...doc.warnings].map((e) => e.code),
        [],
        `${ctx}\nfast parser accepted what yaml rejects`,
      );
      assert.deepEqual(f, doc.toJS(), `${ctx}\nfast parser differs from yaml`);
      assert.equal(JSON.stringify(f), JSON.stringify(doc.toJS()), `${ctx}\nfast parser: other key order`);
    }
    // ...and so must the whole fast path with the positioned path.
    const slow = parseSlow(text, file, origin);
    assert.deepEqual(slow.recipe, res.recipe, `${ctx}\nfast and slow paths disagree`);
    // The lazy parse (eager keys built, the others only validated) gives the same verdict, problems and recipe.
    const lazy = parseRecipeLazy(text, file, origin);
    assert.deepEqual(lazy.problems, res.problems, `${ctx}\nlazy parse: other problems`);
    assert.deepEqual(lazy.recipe, res.recipe, `${ctx}\nlazy parse: other recipe`);
  }
  t.diagnostic(`accepted ${accepted}, rejected ${rejected}, fast-path parses ${fast}`);
  assert.ok(accepted > 50 && rejected > 700 && fast > 300, `accepted ${accepted}, rejected ${rejected}, fast ${fast}`);
});

test('the fast YAML subset parser agrees with the full parser on 4,000 more mutants', (t) => {
  const rnd = prng(7);
  let answered = 0;
  for (let n = 0; n < 4000; n++) {
    let text = seeds[n % seeds.length]!;
    text = mutate(text, rnd);
    const f = fastYaml(text);
    if (f === undefined) continue;
    answered++;
    const doc = parseDocument(text);
    const ctx = `mutant ${n}:\n${text}`;
    assert.deepEqual(
      [...doc.errors, ...doc.warnings].map((e) => e.code),
      [],
      `${ctx}\nfast parser accepted what yaml rejects`,
    );
    assert.deepEqual(f, doc.toJS(), `${ctx}\nfast parser differs from yaml`);
    assert.equal(JSON.stringify(f), JSON.stringify(doc.toJS()), `${ctx}\nfast parser: other key order`);
  }
  t.diagnostic(`fast parser answered for ${answered} of 4000`);
  assert.ok(answered > 1000);
});

test('the compiled validator agrees with zod: same verdict, same output, same key order', () => {
  const validate = compileSchema(RecipeSchema);
  assert.ok(validate, 'the recipe schema compiles');
  const eagerOnly = compileSchema(RecipeSchema, { checkOnly: LAZY_KEYS })!;
  assert.deepEqual(LAZY_KEYS, ['sources', 'build', 'install', 'packages']);
  const rnd = prng(99);
  let agreed = 0;
  for (let n = 0; n < 4000; n++) {
    const text = mutate(seeds[n % seeds.length]!, rnd);
    const doc = parseDocument(text);
    if (doc.errors.length > 0) continue;
    let data: unknown;
    try {
      data = doc.toJS();
    } catch {
      continue;
    } // an unresolved alias
    const z = RecipeSchema.safeParse(data);
    const c: unknown = validate(data);
    const ctx = `mutant ${n}:\n${text}`;
    if (c === FAIL) {
      // Stricter is allowed only where zod also rejects or the value is unusual (falls back to zod anyway).
      if (z.success) assert.fail(`${ctx}\ncompiled validator rejected what zod accepts`);
      assert.equal(eagerOnly(data), FAIL, `${ctx}\ncheck-only validator accepted what the full one rejects`);
      continue;
    }
    assert.ok(z.success, `${ctx}\ncompiled validator accepted what zod rejects`);
    assert.deepStrictEqual(c, z.data, ctx);
    // Checking some keys without building them: the same verdict, and the other keys as built in full.
    const e = eagerOnly(data);
    assert.notEqual(e, FAIL, `${ctx}\ncheck-only validator rejected what zod accepts`);
    const want = Object.fromEntries(Object.entries(z.data).filter(([k]) => !LAZY_KEYS.includes(k)));
    assert.deepStrictEqual(e, want, ctx);
    assert.deepEqual(Object.keys(e as object), Object.keys(want), ctx);
    assert.equal(JSON.stringify(c), JSON.stringify(z.data), ctx);
    agreed++;
  }
  assert.ok(agreed > 300, `only ${agreed} accepted mutants compared`);
});

test('the compiled validator agrees with zod on every inlined shape (scalars, checks, optional, default, lists)', () => {
  const LOWER = /^[a-z]+$/;
  const ONE_LINE = /^[^\n]*$/;
  const notDotDot = (x: string) => x !== '..';
  const Inner = zod
    .object({ n: zod.number().int().min(0).max(16).default(1), s: zod.string().min(1).optional() })
    .strict();
  const schema = zod
    .object({
      str: zod.string(),
      re: zod.string().regex(LOWER).optional(),
      nonEmpty: zod.string().min(1).regex(ONE_LINE).default(''),
      url: zod.string().url().optional(),
      refined: zod.string().refine(notDotDot).optional(),
      int: zod.number().int().positive().optional(),
      gt: zod.number().gt(-1).lt(10).optional(),
      num: zod.number().default(2.5),
      bool: zod.boolean().default(true),
      en: zod.enum(['a', 'b']).optional(),
      lit: zod.union([zod.literal('x'), zod.literal(1), zod.array(zod.enum(['p', 'q'])).min(1)]).default('x'),
      list: zod.array(zod.string().regex(/^[a-z]+$/)).default([]),
      nums: zod.array(zod.number().int()).optional(),
      nonEmptyList: zod.array(zod.string()).min(1).optional(),
      inner: Inner.default({ n: 1 }),
      inners: zod.array(Inner).default([]),
      rec: zod.record(zod.string().regex(/^[A-Z]+$/), zod.string()).default({}),
    })
    .strict();
  const validate = compileSchema(schema);
  const checkOnly = compileSchema(schema, { checkOnly: ['inner', 'inners', 'list', 'url', 'rec'] });
  if (validate === undefined || checkOnly === undefined) assert.fail('the schema compiles');
  // Values a YAML document can hold (never `undefined`: zod keeps a key given as undefined, the compiled
  // validator omits it; parsed YAML has no such key).
  const strings = ['', 'abc', 'ABC', 'a\nb', '..', ' https://e.org/ ', 'https://e.org/x', 'not a url', 'x', 'a', 'p'];
  const numbers = [0, -1, 1, 2.5, 10, 16, 17, NaN, Infinity, -0, 2 ** 60];
  const lists = [[], ['p'], ['p', 'z'], ['abc'], ['abc', 1], [1, 2], [1.5], [{ n: 2 }], [{}, { s: 'y' }]];
  const objects = [{}, { n: 3 }, { n: 3, s: '' }, { n: 3, x: 1 }, { A: 'x' }, { a: 'x' }, { A: 1 }];
  const VALS: unknown[] = [null, true, false, ...strings, ...numbers, ...lists, ...objects];
  // Mostly values each key accepts (so that most cases pass), sometimes any value.
  const GOOD: Record<string, unknown[]> = {
    str: ['', 'x'],
    re: ['abc'],
    nonEmpty: ['a b'],
    url: ['https://e.org/x', 'http://h/'],
    refined: ['.', 'x'],
    int: [1, 7],
    gt: [0, 9.5],
    num: [0, -3.5],
    bool: [false],
    en: ['a', 'b'],
    lit: ['x', 1, ['p', 'q']],
    list: [[], ['a', 'b']],
    nums: [[], [1, -2]],
    nonEmptyList: [['']],
    inner: [{}, { n: 0, s: 'y' }],
    inners: [[{ n: 16 }], []],
    rec: [{ A: 'x', B: '' }],
  };
  const keys = Object.keys(schema.shape);
  const rnd = prng(4242);
  let accepted = 0;
  for (let n = 0; n < 6000; n++) {
    const v: Record<string, unknown> = { str: 's' };
    for (const k of keys) {
      const r = rnd();
      if (r < 0.3) v[k] = GOOD[k]![Math.floor(rnd() * GOOD[k]!.length)];
      else if (r < 0.4) v[k] = VALS[Math.floor(rnd() * VALS.length)];
    }
    if (rnd() < 0.05) v.extra = 1;
    if (rnd() < 0.05) delete v.str;
    const ctx = `case ${n}: ${JSON.stringify(v)}`;
    const zr = schema.safeParse(structuredClone(v));
    const c: unknown = validate(structuredClone(v));
    const e: unknown = checkOnly(structuredClone(v));
    if (!zr.success) {
      assert.equal(c, FAIL, `${ctx}\ncompiled validator accepted what zod rejects`);
      assert.equal(e, FAIL, `${ctx}\ncheck-only validator accepted what zod rejects`);
      continue;
    }
    // The compiled validator may answer FAIL only where zod rewrites the value (the URL check trims it).
    if (c === FAIL) {
      assert.ok(
        typeof v.url === 'string' && v.url !== v.url.trim(),
        `${ctx}\ncompiled validator rejected what zod accepts`,
      );
      assert.equal(e, FAIL, ctx);
      continue;
    }
    accepted++;
    assert.deepStrictEqual(c, zr.data, ctx);
    assert.equal(JSON.stringify(c), JSON.stringify(zr.data), ctx);
    const checked = ['inner', 'inners', 'list', 'url', 'rec'];
    const want = Object.fromEntries(Object.entries(zr.data).filter(([k]) => !checked.includes(k)));
    assert.deepStrictEqual(e, want, ctx);
    assert.equal(JSON.stringify(e), JSON.stringify(want), ctx);
  }
  assert.ok(accepted > 500, `only ${accepted} accepted cases compared`);
});
