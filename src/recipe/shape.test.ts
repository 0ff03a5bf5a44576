import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecipeSchema } from './schema.js';
import { EAGER, KEYS, LAZY_KEYS, OPTIONAL_KEYS } from './shape.js';

type SchemaNode = { _zod: { def: { type: string; innerType?: SchemaNode; element?: SchemaNode } } };
const SHAPE = RecipeSchema.shape as unknown as Record<string, SchemaNode>;

function unwrap(n: SchemaNode): SchemaNode {
  let x = n;
  while (x._zod.def.type === 'optional' || x._zod.def.type === 'default') x = x._zod.def.innerType!;
  return x;
}
function holdsObjects(n: SchemaNode): boolean {
  const t = unwrap(n)._zod.def;
  if (t.type === 'object' || t.type === 'record') return true;
  return t.type === 'array' && holdsObjects(t.element!);
}

test('the written-out recipe shape is the schema’s: keys in order, optional keys, keys parsed on first read', () => {
  const keys = Object.keys(SHAPE);
  assert.deepEqual(KEYS, keys);
  assert.deepEqual(
    OPTIONAL_KEYS,
    keys.filter((k) => SHAPE[k]!._zod.def.type === 'optional'),
  );
  // Objects are parsed on first read; depends and options are read for every port by planning: data.
  assert.deepEqual(
    LAZY_KEYS,
    keys.filter((k) => k !== 'depends' && k !== 'options' && holdsObjects(SHAPE[k]!)),
  );
  assert.deepEqual(
    [...EAGER],
    keys.filter((k) => !LAZY_KEYS.includes(k)),
  );
  assert.ok(OPTIONAL_KEYS.length <= 31, 'a key mask is a 32-bit integer');
});
