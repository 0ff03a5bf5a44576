/**
 * The fast YAML parser's one-line pieces (`fastyaml.ts` holds the block structure): keys, plain / quoted
 * scalars resolved with YAML 1.2's core schema, one-line flow collections. Every function reads the text
 * `s` at absolute offsets up to the line end `le` and throws {@link NOT_SUBSET} for anything the full
 * parser might read differently; {@link fastYaml} turns that into `undefined`.
 */
import { addKey, closeMap, hasKey, keyCount, keySeqHash, openMap, setValue } from './fastyaml-object.js';

/** Thrown inside the parser to abandon the fast path; never escapes `fastYaml`. */
class NotSubset {}
export const NOT_SUBSET = new NotSubset();

/** The characters of keys in the subset (`[A-Za-z0-9_.\-/+]`): char code → 1 + its index here, else 0. */
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/+';
const KEY_CHAR = new Uint8Array(128);
for (let i = 0; i < KEY_ALPHABET.length; i++) KEY_CHAR[KEY_ALPHABET.charCodeAt(i)] = i + 1;
const NA = KEY_ALPHABET.length + 1;

/** The state of the known-key trie (see {@link TRIE}) {@link keyEnd} ended in. */
let keyState = 0;

/** End of the key that starts at `p` in `s` (before `le`); walks the known-key trie on the way. */
export function keyEnd(s: string, p: number, le: number): number {
  let st = 1;
  while (p < le) {
    const c = s.charCodeAt(p);
    const a = c < 128 ? KEY_CHAR[c]! : 0;
    if (a === 0) break;
    st = TRIE[st * NA + a]!; // 0 (no known key starts so) stays 0
    p++;
  }
  keyState = st;
  return p;
}

/**
 * Keys recipes use. Taking the key string from here instead of slicing the text saves an allocation and,
 * more, the internalization V8 does on every property store with a fresh string key; a known key's
 * number also makes the duplicate check a bit test. Only an optimization: any other key is sliced.
 */
const KNOWN_KEYS = [
  'name',
  'version',
  'revision',
  'summary',
  'description',
  'homepage',
  'license',
  'arch',
  'sources',
  'url',
  'sha256',
  'filename',
  'strip',
  'patches',
  'depends',
  'build',
  'run',
  'system',
  'system_run',
  'options',
  'default',
  'configure_args',
  'make_args',
  'implies',
  'on',
  'off',
  'script',
  'env',
  'test',
  'parallel',
  'limits',
  'wall_s',
  'cpu_s',
  'no_output_s',
  'memory_mb',
  'install',
  'conffiles',
  'preinst',
  'postinst',
  'prerm',
  'postrm',
  'CFLAGS',
  'CXXFLAGS',
  'deb_build_options',
  'deb_build_profiles',
  'LDFLAGS',
  'CPPFLAGS',
] as const;
/**
 * The known keys as a trie over KEY_ALPHABET: state 0 is "no known key", 1 the root; the state after
 * character `a` (1 + alphabet index) from state `st` is `TRIE[st * NA + a]`; ACCEPT[st] is 1 + the number
 * of the known key ending there, else 0. One pass over a key finds it, without comparing strings.
 */
const TRIE_STATES = 2 + KNOWN_KEYS.reduce((n, k) => n + k.length, 0);
const TRIE = new Int16Array(TRIE_STATES * NA);
const ACCEPT = new Int16Array(TRIE_STATES);
{
  let states = 2;
  for (let id = 0; id < KNOWN_KEYS.length; id++) {
    const k = KNOWN_KEYS[id]!;
    let st = 1;
    for (let i = 0; i < k.length; i++) {
      const a = KEY_CHAR[k.charCodeAt(i)]!;
      if (a === 0) throw new Error(`fastyaml: known key ${k} outside the key alphabet`);
      if (TRIE[st * NA + a] === 0) TRIE[st * NA + a] = states++;
      st = TRIE[st * NA + a]!;
    }
    ACCEPT[st] = id + 1;
  }
}
/** At most 52 known keys: a mapping's seen set is a number, bit i = 2 ** i (exact in a double). */
if (KNOWN_KEYS.length > 52) throw new Error('fastyaml: too many known keys for the seen bits');
const KEY_BIT = KNOWN_KEYS.map((_k, i) => 2 ** i);

/** The number of the known key {@link keyAt} last returned, or -1 when it sliced the text. */
export let keyId = -1;

/**
 * The key `s[start, end)` just scanned by {@link keyEnd}: a known key's string when it is one (sets
 * {@link keyId}), else a slice of `s`.
 */
export function keyAt(s: string, start: number, end: number): string {
  const id = ACCEPT[keyState]! - 1;
  keyId = id;
  return id >= 0 ? KNOWN_KEYS[id]! : s.slice(start, end);
}

/** Most keys one mapping may have in the subset (the duplicate check of other keys is a linear search). */
const MAX_KEYS = 64;

/**
 * Adds key `key` (just returned by {@link keyAt}) to a mapping's seen set `seen` (known keys' bits) and
 * returns the new set, or -1 when the mapping (starting at `base`, `fastyaml-object.ts`) already holds
 * it, it is not a valid key, or the mapping is too big. Known keys are a bit test, others a search.
 */
export function markKey(seen: number, base: number, key: string): number {
  if (keyCount(base) >= MAX_KEYS) return -1;
  const id = keyId;
  if (id < 0) return hasKey(base, key) || !validKey(key) ? -1 : seen;
  const bit = KEY_BIT[id]!;
  return Math.floor(seen / bit) % 2 === 1 ? -1 : seen + bit;
}

/** Keys a YAML 1.2 core schema would not read as a string. */
const NON_STRING_KEYS = new Set([
  'null',
  'Null',
  'NULL',
  'true',
  'True',
  'TRUE',
  'false',
  'False',
  'FALSE',
  '__proto__',
]);

/** Keys must start with a letter or `_` and read as a string (known keys always do). */
function validKey(key: string): boolean {
  const c = key.charCodeAt(0);
  if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f)) return false;
  // Only keys starting with n N t T f F _ can be one of the non-string words.
  return (
    !(c === 0x6e || c === 0x4e || c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46 || c === 0x5f) ||
    !NON_STRING_KEYS.has(key)
  );
}

const INT_RE = /^[-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** The plain scalar `s[p, end)` resolved with the YAML 1.2 core schema. */
export function plainValue(s: string, p: number, end: number): unknown {
  const c = s.charCodeAt(p);
  // Fast exit: most scalars start with a letter that none of the special forms start with.
  if (
    !(
      c === 0x2b ||
      c === 0x2d ||
      c === 0x2e ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x7e ||
      c === 0x6e ||
      c === 0x4e ||
      c === 0x74 ||
      c === 0x54 ||
      c === 0x66 ||
      c === 0x46
    )
  )
    return s.slice(p, end);
  return specialValue(s.slice(p, end), c);
}

/** A plain scalar `v` that may be null, a boolean or a number (its first char code is `c`). */
function specialValue(v: string, c: number): unknown {
  switch (v) {
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
    case '.inf':
    case '.Inf':
    case '.INF':
    case '+.inf':
    case '+.Inf':
    case '+.INF':
      return Infinity;
    case '-.inf':
    case '-.Inf':
    case '-.INF':
      return -Infinity;
    case '.nan':
    case '.NaN':
    case '.NAN':
      return NaN;
  }
  if (c === 0x30 && v.length > 2 && (v[1] === 'o' || v[1] === 'x')) throw NOT_SUBSET; // octal / hex: leave to the full parser
  if (INT_RE.test(v) || FLOAT_RE.test(v)) {
    const n = Number(v);
    if (Object.is(n, -0) || !Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n))) throw NOT_SUBSET;
    return n;
  }
  return v;
}

/** Characters a plain scalar may not start with (`[]{},#&*!|>'"%@` and backquote), by char code. */
const BAD_START = new Uint8Array(128);
for (const ch of '[]{},#&*!|>\'"%@`') BAD_START[ch.charCodeAt(0)] = 1;
/** Flow indicators `,[]{}`, by char code. */
const FLOW_IND = new Uint8Array(128);
for (const ch of ',[]{}') FLOW_IND[ch.charCodeAt(0)] = 1;

/** Where the last scan, quoted scalar or flow value stopped (the next character to read). */
export let stop = 0;

/** Throws unless a plain scalar may start at `s[p]` (`p < le`); `flow` in a flow collection. */
function plainStart(s: string, p: number, le: number, flow: boolean): void {
  const c0 = s.charCodeAt(p);
  if (c0 < 128 && BAD_START[c0] === 1) throw NOT_SUBSET;
  if (c0 === 0x2d || c0 === 0x3f || c0 === 0x3a) {
    // - ? :
    const c1 = p + 1 < le ? s.charCodeAt(p + 1) : 0x20;
    if (c1 === 0x20 || (flow && c1 < 128 && FLOW_IND[c1] === 1)) throw NOT_SUBSET;
  }
}

/**
 * The next `#` and `:` at or after the positions last asked for (the text length when none): the parser
 * reads forward, so each search resumes where the last one ended and a text is searched about once.
 */
let hashAt = -1;
let colonAt = -1;

/** Resets the forward searches for a new text. */
export function resetScan(): void {
  hashAt = -1;
  colonAt = -1;
}

/** The first `c` at or after `p` in `s`, or its length. */
function nextChar(s: string, c: string, p: number): number {
  const i = s.indexOf(c, p);
  return i < 0 ? s.length : i;
}

/**
 * Scans a plain scalar at `s[p]` in block context, up to the line end `le`: returns the end of its text
 * (trailing spaces excluded) and sets {@link stop} to where it stopped (` #` or the line end). Throws for
 * anything the full parser might read differently (a `: ` inside, an indicator at the start). The
 * searches are native (`indexOf`), resumed from where the last one ended.
 */
export function scanPlainBlock(s: string, p: number, le: number): number {
  if (p >= le) throw NOT_SUBSET;
  plainStart(s, p, le, false);
  // A comment: ` #` (a `#` right after p cannot follow a space inside the scalar).
  let q = le;
  if (hashAt < p + 1) hashAt = nextChar(s, '#', p + 1);
  while (hashAt < le) {
    if (s.charCodeAt(hashAt - 1) === 0x20) {
      q = hashAt - 1;
      break;
    }
    hashAt = nextChar(s, '#', hashAt + 1);
  }
  // ':' ends a key when followed by a space or the line end.
  if (colonAt < p) colonAt = nextChar(s, ':', p);
  while (colonAt < q) {
    if (colonAt + 1 >= le || s.charCodeAt(colonAt + 1) === 0x20) throw NOT_SUBSET;
    colonAt = nextChar(s, ':', colonAt + 1);
  }
  stop = q;
  while (s.charCodeAt(q - 1) === 0x20) q--; // s[p] is not a space
  return q;
}

/** {@link scanPlainBlock} in a flow collection: also stops at a flow indicator. */
function scanPlainFlow(s: string, p: number, le: number): number {
  if (p >= le) throw NOT_SUBSET;
  plainStart(s, p, le, true);
  let end = p;
  let q = p;
  for (; q < le; q++) {
    const c = s.charCodeAt(q);
    if (c === 0x20) {
      if (q + 1 < le && s.charCodeAt(q + 1) === 0x23) break; // " #": a comment
      continue;
    }
    if (c < 128 && FLOW_IND[c] === 1) break;
    if (c === 0x3a) {
      // ':' ends a key when followed by a space, the end, or an indicator
      const n = q + 1 < le ? s.charCodeAt(q + 1) : 0x20;
      if (n === 0x20 || (n < 128 && FLOW_IND[n] === 1)) throw NOT_SUBSET;
    }
    end = q + 1;
  }
  stop = q;
  return end;
}

/** The escape `\e` of a double-quoted scalar, or throws for those left to the full parser. */
function escaped(e: number): string {
  switch (e) {
    case 0x5c:
      return '\\';
    case 0x22:
      return '"';
    case 0x2f:
      return '/';
    case 0x6e:
      return '\n';
    case 0x74:
      return '\t';
    default:
      throw NOT_SUBSET;
  }
}

/** A one-line double-quoted scalar starting at `s[p] === '"'`; sets {@link stop} after the quote. */
export function doubleQuoted(s: string, p: number, le: number): string {
  let out = '';
  let from = p + 1;
  for (let i = from; i < le; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      stop = i + 1;
      return from === p + 1 ? s.slice(from, i) : out + s.slice(from, i);
    }
    if (c !== 0x5c) continue;
    out += s.slice(from, i);
    if (++i >= le) break;
    out += escaped(s.charCodeAt(i));
    from = i + 1;
  }
  throw NOT_SUBSET; // not closed on this line
}

/** A one-line single-quoted scalar starting at `s[p] === "'"`; sets {@link stop} after the quote. */
export function singleQuoted(s: string, p: number, le: number): string {
  let out = '';
  let from = p + 1;
  for (let i = from; i < le; i++) {
    if (s.charCodeAt(i) !== 0x27) continue;
    out += s.slice(from, i);
    if (i + 1 < le && s.charCodeAt(i + 1) === 0x27) {
      out += "'";
      from = ++i + 1;
      continue;
    }
    stop = i + 1;
    return out;
  }
  throw NOT_SUBSET;
}

/** After a value: only spaces and an optional ` # comment` may follow up to the line end `le`. */
export function expectLineEnd(s: string, p: number, le: number): void {
  if (p >= le) return;
  if (s.charCodeAt(p) !== 0x20) throw NOT_SUBSET;
  while (p < le && s.charCodeAt(p) === 0x20) p++;
  if (p < le && s.charCodeAt(p) !== 0x23) throw NOT_SUBSET;
}

/** Skips spaces from `p` (before `le`). */
export function spaces(s: string, p: number, le: number): number {
  while (p < le && s.charCodeAt(p) === 0x20) p++;
  return p;
}

/** A flow value (`[...]`, `{...}`, quoted or plain) within one line; sets {@link stop} after it. */
export function flowValue(s: string, p: number, le: number, depth: number): unknown {
  if (depth > 20) throw NOT_SUBSET;
  p = spaces(s, p, le);
  const c = p < le ? s.charCodeAt(p) : -1;
  if (c === 0x5b) return flowList(s, p, le, depth);
  if (c === 0x7b) return flowMap(s, p, le, depth);
  if (c === 0x22) return doubleQuoted(s, p, le);
  if (c === 0x27) return singleQuoted(s, p, le);
  const end = scanPlainFlow(s, p, le);
  return plainValue(s, p, end);
}

/** After a flow item: the position after `,` (more items), or -1 with {@link stop} after `close`. */
function flowNext(s: string, le: number, close: number): number {
  let p = spaces(s, stop, le);
  const d = p < le ? s.charCodeAt(p) : -1;
  if (d === close) {
    stop = p + 1;
    return -1;
  }
  if (d !== 0x2c) throw NOT_SUBSET;
  p = spaces(s, p + 1, le);
  if (p < le && s.charCodeAt(p) === close) {
    stop = p + 1; // a trailing comma
    return -1;
  }
  return p;
}

/** A flow list `[...]` at `s[p]`. */
function flowList(s: string, p: number, le: number, depth: number): unknown[] {
  const out: unknown[] = [];
  p = spaces(s, p + 1, le);
  if (p < le && s.charCodeAt(p) === 0x5d) {
    stop = p + 1;
    return out;
  }
  for (;;) {
    out.push(flowValue(s, p, le, depth + 1));
    p = flowNext(s, le, 0x5d);
    if (p < 0) return out;
  }
}

/** A flow mapping `{...}` at `s[p]`. */
function flowMap(s: string, p: number, le: number, depth: number): Record<string, unknown> {
  let seen = 0;
  let hash = 0;
  p = spaces(s, p + 1, le);
  if (p < le && s.charCodeAt(p) === 0x7d) {
    stop = p + 1;
    return {};
  }
  const base = openMap();
  for (;;) {
    const k = keyEnd(s, p, le);
    if (k === p || k + 1 >= le || s.charCodeAt(k) !== 0x3a || s.charCodeAt(k + 1) !== 0x20) throw NOT_SUBSET;
    const key = keyAt(s, p, k);
    hash = keySeqHash(hash, keyId);
    seen = markKey(seen, base, key);
    if (seen < 0) throw NOT_SUBSET;
    p = spaces(s, k + 2, le);
    if (p >= le || s.charCodeAt(p) === 0x2c || s.charCodeAt(p) === 0x7d) throw NOT_SUBSET;
    const slot = addKey(key);
    setValue(slot, flowValue(s, p, le, depth + 1));
    p = flowNext(s, le, 0x7d);
    if (p < 0) return closeMap(base, hash);
  }
}
