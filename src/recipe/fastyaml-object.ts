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
  readonly make: (vals: readonly unknown[], base: number) => Record<string, unknown>;
}

/** Literals by key-sequence hash ({@link keySeqHash}); bounded, so a hostile tree cannot grow it. */
const LITERALS = new Map<number, Literal>();
const MAX_LITERALS = 512;

/** The hash of a key sequence after adding known key number `id` (`-1` for an unknown key) to `h`. */
export function keySeqHash(h: number, id: number): number {
  return h < 0 || id < 0 ? -1 : (Math.imul(h, 61) + id + 1) & 0x7fffffff;
}

/**
 * The keys and values of the mappings being read, a stack shared by nested mappings: a mapping's entries
 * are `[base, top)`, `base` being {@link top} when it started. Never shrunk (reused from text to text).
 */
const KEYS: string[] = [];
const VALS: unknown[] = [];
let top = 0;

/** Starts a new text (an abandoned parse may have left entries). */
export function resetMaps(): void {
  top = 0;
}

/** Starts a mapping; returns its base. */
export function openMap(): number {
  return top;
}

/** Adds key `key` to the innermost mapping; returns the slot its value goes to ({@link setValue}). */
export function addKey(key: string): number {
  KEYS[top] = key;
  VALS[top] = null;
  return top++;
}

/** Sets the value of slot `slot`. */
export function setValue(slot: number, v: unknown): void {
  VALS[slot] = v;
}

/** The number of keys of the mapping starting at `base`. */
export function keyCount(base: number): number {
  return top - base;
}

/** Does the mapping starting at `base` hold key `key`? */
export function hasKey(base: number, key: string): boolean {
  for (let i = base; i < top; i++) if (KEYS[i] === key) return true;
  return false;
}

/** Are the keys of the mapping starting at `base` the (known, hence identical) strings `keys`? */
function sameKeys(keys: readonly string[], base: number): boolean {
  if (keys.length !== top - base) return false;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== KEYS[base + i]) return false;
  return true;
}

/** A literal making `{keys[0]: v[b], keys[1]: v[b + 1], ...}`; `keys` are known keys (never `__proto__`). */
function literal(keys: readonly string[]): Literal {
  const props = keys.map((k, i) => `${JSON.stringify(k)}: v[b + ${i}]`).join(', ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('v', 'b', `return { ${props} };`) as Literal['make'];
  return { keys, make };
}

/**
 * Ends the mapping starting at `base`: the plain object of its entries in order (keys distinct). `hash`
 * is its key sequence's {@link keySeqHash}, or -1 when a key is not a known one.
 */
export function closeMap(base: number, hash: number): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  if (hash >= 0) {
    let lit = LITERALS.get(hash);
    if (lit === undefined && LITERALS.size < MAX_LITERALS) {
      lit = literal(KEYS.slice(base, top));
      LITERALS.set(hash, lit);
    }
    if (lit !== undefined && sameKeys(lit.keys, base)) out = lit.make(VALS, base);
  }
  if (out === undefined) {
    out = {};
    for (let i = base; i < top; i++) out[KEYS[i]!] = VALS[i];
  }
  top = base;
  return out;
}
