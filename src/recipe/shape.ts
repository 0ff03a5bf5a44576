/**
 * Which top-level recipe keys a lazy recipe (`lazy.ts`) holds as data and which it parses on first read,
 * read from the schema: keys holding objects (`sources`, `build`, `install`) are parsed on demand; scalars,
 * lists of strings, `depends` and `options` (planning reads them for every port) are data.
 */
import { RecipeSchema } from './schema.js';

type SchemaNode = { _zod: { def: { type: string; innerType?: SchemaNode; element?: SchemaNode } } };
const SHAPE = RecipeSchema.shape as unknown as Record<string, SchemaNode>;

/** The recipe's top-level keys in output order. */
export const KEYS: readonly string[] = Object.keys(SHAPE);

/** The node under optional / default wrappers. */
function unwrap(n: SchemaNode): SchemaNode {
  let x = n;
  for (let guard = 0; guard < 8 && (x._zod.def.type === 'optional' || x._zod.def.type === 'default'); guard++)
    x = x._zod.def.innerType!;
  return x;
}

/** Does a key hold objects (an object, a record, a list of objects)? Those are worth parsing only when read. */
function holdsObjects(n: SchemaNode): boolean {
  const t = unwrap(n)._zod.def;
  if (t.type === 'object' || t.type === 'record') return true;
  return t.type === 'array' && holdsObjects(t.element!);
}

/** Keys held as data from the start: every key but those holding objects; `depends` and `options` too. */
export const EAGER: ReadonlySet<string> = new Set(
  KEYS.filter((k) => k === 'depends' || k === 'options' || !holdsObjects(SHAPE[k]!)),
);

/** The keys parsed on first read, in order. */
export const LAZY_KEYS: readonly string[] = KEYS.filter((k) => !EAGER.has(k));

/** The optional keys, in order; bit i of a key mask says whether OPTIONAL_KEYS[i] is present. */
export const OPTIONAL_KEYS: readonly string[] = KEYS.filter((k) => SHAPE[k]!._zod.def.type === 'optional');
