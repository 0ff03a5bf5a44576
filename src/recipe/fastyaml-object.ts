/**
 * Building the fast YAML parser's mappings. A mapping is read as its keys and values, then made at once:
 * for a mapping of known keys (the parser's own table) through an object literal generated for that
 * sequence of keys, cached, which V8 allocates in one step with its properties in the object; any other
 * mapping by property stores. Adding properties one by one to `{}` costs ~40 ns each (a transition per
 * store), several times what a literal costs; the objects are the same (same keys, same order, plain).
 */

/** The cached literal for a sequence of known keys: its keys (to confirm a hash match) and its maker. */
interface Literal {
  readonly keys: readonly string[];
  readonly make: (vals: readonly unknown[]) => Record<string, unknown>;
}

/** Literals by key-sequence hash ({@link keySeqHash}); bounded, so a hostile tree cannot grow it. */
const LITERALS = new Map<number, Literal>();
const MAX_LITERALS = 512;

/** The hash of a key sequence after adding known key number `id` (`-1` for an unknown key) to `h`. */
export function keySeqHash(h: number, id: number): number {
  return h < 0 || id < 0 ? -1 : (Math.imul(h, 61) + id + 1) & 0x7fffffff;
}

/** Do two key sequences hold the same (known, hence identical) strings? */
function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A literal making `{keys[0]: vals[0], ...}`; `keys` are known keys (identifiers, never `__proto__`). */
function literal(keys: readonly string[]): Literal {
  const props = keys.map((k, i) => `${JSON.stringify(k)}: v[${i}]`).join(', ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('v', `return { ${props} };`) as Literal['make'];
  return { keys: keys.slice(), make };
}

/**
 * The plain object `{keys[i]: vals[i]}` in order (keys distinct). `hash` is the sequence's
 * {@link keySeqHash}, or -1 when a key is not a known one.
 */
export function makeObject(keys: readonly string[], vals: readonly unknown[], hash: number): Record<string, unknown> {
  if (hash >= 0) {
    let lit = LITERALS.get(hash);
    if (lit === undefined && LITERALS.size < MAX_LITERALS) {
      lit = literal(keys);
      LITERALS.set(hash, lit);
    }
    if (lit !== undefined && sameKeys(lit.keys, keys)) return lit.make(vals);
  }
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) out[keys[i]!] = vals[i];
  return out;
}
