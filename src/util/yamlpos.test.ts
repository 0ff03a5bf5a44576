import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { formatProblem } from './errors.js';
import { decodeUtf8, formatField, locate, parseYamlPositioned, validateYaml } from './yamlpos.js';

const fmt = (text: string) => parseYamlPositioned(text, 'f.yaml').problems.map(formatProblem);

test('formatField prints dotted paths with indices', () => {
  assert.equal(formatField([]), '-');
  assert.equal(formatField(['sources', 0, 'sha256']), 'sources[0].sha256');
  assert.equal(formatField(['depends', 'build', 2]), 'depends.build[2]');
  assert.equal(formatField(['build', 'env', 'A B']), 'build.env["A B"]');
});

test('YAML-level faults are located problems', () => {
  assert.deepEqual(fmt(''), ['f.yaml:1:1: -: the file is empty: expected a mapping of "key: value" lines']);
  assert.deepEqual(fmt('# only\n'), ['f.yaml:1:1: -: the file is empty: expected a mapping of "key: value" lines']);
  assert.deepEqual(fmt('a: 1\nb: 2\na: 3\n'), [
    'f.yaml:3:1: a: duplicate key: each key may appear only once in a mapping',
  ]);
  assert.deepEqual(fmt('a:\n\tb: 1\n'), ['f.yaml:2:1: -: tab used for indentation: indent with spaces']);
  assert.deepEqual(fmt('a: 1\n---\nb: 2\n'), [
    'f.yaml:2:1: -: the file holds more than one YAML document (a "---" line): keep one',
  ]);
  assert.deepEqual(fmt('- a\n- b\n'), [
    'f.yaml:1:1: -: the document is a list: expected a mapping of "key: value" lines',
  ]);
  assert.deepEqual(fmt('\n\n  hello\n'), [
    'f.yaml:3:3: -: the document is a single value: expected a mapping of "key: value" lines',
  ]);
  assert.deepEqual(fmt('a: *nope\n'), ['f.yaml:1:4: a: YAML: alias *nope has no anchor &nope before it']);
  assert.deepEqual(fmt('? [a, b]\n: c\n'), ['f.yaml:1:3: -: YAML: a key must be a plain word, not a list or mapping']);
  const syntax = fmt('a: [1, 2\nb: 3\n');
  assert.equal(syntax.length >= 1, true);
  assert.match(syntax[0]!, /^f\.yaml:\d+:\d+: .*: YAML: /);
  assert.deepEqual(parseYamlPositioned('', 'k.yaml', { allowEmpty: true }).value, {});
});

test('locate points at values, keys, and the parent mapping for missing keys', () => {
  const { yaml } = parseYamlPositioned(
    'top: 1\nsources:\n  - url: x\n    sha256: abc\nempty:\nflow: {a: [1, 2]}\n',
    'f.yaml',
  );
  assert.deepEqual(locate(yaml, ['sources', 0, 'sha256']), { line: 4, column: 13 });
  assert.deepEqual(locate(yaml, ['sources', 0, 'sha256'], 'key'), { line: 4, column: 5 });
  assert.deepEqual(locate(yaml, ['sources', 0, 'strip'], 'parent'), { line: 3, column: 5 });
  assert.deepEqual(locate(yaml, ['missing'], 'parent'), { line: 1, column: 1 });
  assert.deepEqual(locate(yaml, ['empty']), { line: 5, column: 1 }, 'an empty value points at its key');
  assert.deepEqual(locate(yaml, ['flow', 'a', 1]), { line: 6, column: 15 });
  assert.deepEqual(locate(yaml, ['sources', 7, 'url']), { line: 3, column: 3 }, 'nearest existing ancestor');
  assert.deepEqual(
    locate(yaml, ['sources', 0, 'sha256'], 'value', 'c'),
    { line: 4, column: 15 },
    'a needle inside the value',
  );
});

test('validateYaml maps zod issues to located, readable problems', () => {
  const schema = z
    .object({
      name: z.string().regex(/^[a-z]+$/, 'must be lower-case letters'),
      count: z.number().int().min(1),
      mode: z.enum(['fast', 'slow']),
      nested: z.object({ flag: z.boolean() }).strict(),
      list: z.array(z.string()).default([]),
      either: z.union([z.literal('any'), z.array(z.string())]).optional(),
    })
    .strict();
  const text = 'name: Bob\ncount: 0\nnested:\n  flg: true\nlist: nope\neither: [a, 3]\nextra: 1\nversion: 2.10\n';
  const res = validateYaml(schema, text, 'c.yaml');
  assert.equal(res.value, undefined);
  assert.deepEqual(res.problems.map(formatProblem), [
    'c.yaml:1:1: mode: is missing: it is required (one of fast, slow)',
    'c.yaml:1:7: name: must be lower-case letters',
    'c.yaml:2:8: count: must be at least 1, not the number 0',
    'c.yaml:4:3: nested.flag: is missing: it is required (true or false)',
    'c.yaml:4:3: nested.flg: unknown key "flg" (did you mean "flag"?)',
    'c.yaml:5:7: list: must be a list, not the string "nope"',
    'c.yaml:6:13: either[1]: must be a string, not the number 3; quote it: "3"',
    'c.yaml:7:1: extra: unknown key "extra"; allowed keys: name, count, mode, nested, list, either',
    'c.yaml:8:1: version: unknown key "version"; allowed keys: name, count, mode, nested, list, either',
  ]);
  const ok = validateYaml(schema, 'name: bob\ncount: 2\nmode: fast\nnested: {flag: false}\n', 'c.yaml');
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.value, { name: 'bob', count: 2, mode: 'fast', nested: { flag: false }, list: [] });
});

test('decodeUtf8 locates the first invalid byte', () => {
  assert.deepEqual(decodeUtf8(Buffer.from('a: é\n'), 'u'), { text: 'a: é\n' });
  const bad = decodeUtf8(Buffer.concat([Buffer.from('a: 1\nbé: '), Buffer.from([0xff, 0x41])]), 'u');
  assert.deepEqual(bad.problem, {
    path: 'u',
    line: 2,
    column: 5,
    field: '-',
    message: 'the file is not valid UTF-8 text',
  });
});
