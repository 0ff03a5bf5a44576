/**
 * A fast parser for the plain YAML subset recipes are written in: block mappings and lists, one-line
 * flow lists and mappings, plain / single- / double-quoted scalars on one line, literal block scalars
 * (`|`, `|-`), comments, a leading `---`. Scalars resolve as YAML 1.2's core schema does.
 *
 * It returns `undefined` ("not in the subset") for anything else (anchors, tags, folded or multi-line
 * scalars, tabs, odd characters, duplicate keys, anything doubtful); the caller then falls back to the
 * full parser, which also locates problems. Whenever it returns a value, that value equals what the
 * `yaml` package produces for the same text: the fuzz test checks exactly this. About 10x faster than a
 * general parser, which is what lets a 35,000-port tree load in a fraction of a second.
 */

/** Characters outside this set (tabs, CR, control, astral, U+2028/9, BOM...) are left to the full parser. */
const ODD = /[^\n\x20-\x7e\u00a1-\u2027\u202a-\ud7ff\ue000-\ufffc]/;
/** Keys of the subset: identifiers and option / variable names (`[A-Za-z0-9_.\-/+]`), by char code. */
const KEY_CHAR = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/+') KEY_CHAR[ch.charCodeAt(0)] = 1;
/** End of the key that starts at `p` in `s` (before `le`). */
function keyEnd(s: string, p: number, le: number): number {
  while (p < le) {
    const c = s.charCodeAt(p);
    if (c >= 128 || KEY_CHAR[c] !== 1) break;
    p++;
  }
  return p;
}
/**
 * Keys recipes use, by length. Taking the key string from here instead of slicing the text saves an
 * allocation and, more, the internalization V8 does on every property store with a fresh string key.
 * Only an optimization: any other key is sliced from the text as before.
 */
const KNOWN_KEYS: string[][] = [];
for (const k of [
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
])
  (KNOWN_KEYS[k.length] ??= []).push(k);
/** The key `s[start, end)`: a known key's string when it is one (always valid), else a slice of `s`. */
function keyAt(s: string, start: number, end: number): string {
  const cands = KNOWN_KEYS[end - start];
  if (cands !== undefined) for (const c of cands) if (s.startsWith(c, start)) return c;
  return s.slice(start, end);
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
const INT_RE = /^[-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** Thrown inside the parser to abandon the fast path; never escapes {@link fastYaml}. */
class NotSubset {}
const NOT_SUBSET = new NotSubset();

/** Resolves a plain scalar with the YAML 1.2 core schema. */
function plainValue(s: string): unknown {
  const c = s.charCodeAt(0);
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
    return s;
  switch (s) {
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
  if (c === 0x30 && s.length > 2 && (s[1] === 'o' || s[1] === 'x')) throw NOT_SUBSET; // octal / hex: leave to the full parser
  if (INT_RE.test(s) || FLOAT_RE.test(s)) {
    const n = Number(s);
    if (Object.is(n, -0) || !Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n))) throw NOT_SUBSET;
    return n;
  }
  return s;
}

/** Characters a plain scalar may not start with (`[]{},#&*!|>'"%@` and backquote), by char code. */
const BAD_START = new Uint8Array(128);
for (const ch of '[]{},#&*!|>\'"%@`') BAD_START[ch.charCodeAt(0)] = 1;
/** Flow indicators `,[]{}`, by char code. */
const FLOW_IND = new Uint8Array(128);
for (const ch of ',[]{}') FLOW_IND[ch.charCodeAt(0)] = 1;

/** Where {@link scanPlain} and the flow parsers stopped (the next character to read). */
let stop = 0;

/**
 * Scans a plain scalar starting at `s[p]`, up to the line end `le`, in block or flow context; returns
 * the end of its text (trailing spaces excluded) and sets {@link stop} to where the scan stopped (a
 * comment, a flow indicator, the line end). Throws NOT_SUBSET for anything the full parser might read
 * differently (a `key: value` inside, an indicator at the start).
 */
function scanPlain(s: string, p: number, le: number, flow: boolean): number {
  if (p >= le) throw NOT_SUBSET;
  const c0 = s.charCodeAt(p);
  if (c0 < 128 && BAD_START[c0] === 1) throw NOT_SUBSET;
  if (c0 === 0x2d || c0 === 0x3f || c0 === 0x3a) {
    // - ? :
    const c1 = p + 1 < le ? s.charCodeAt(p + 1) : 0x20;
    if (c1 === 0x20 || (flow && c1 < 128 && FLOW_IND[c1] === 1)) throw NOT_SUBSET;
  }
  let end = p;
  let q = p;
  for (; q < le; q++) {
    const c = s.charCodeAt(q);
    if (c === 0x20) {
      if (q + 1 < le && s.charCodeAt(q + 1) === 0x23) break; // " #": a comment
      continue;
    }
    if (flow && c < 128 && FLOW_IND[c] === 1) break;
    if (c === 0x3a) {
      // ':' ends a key when followed by a space, the end, or (in flow) an indicator
      const n = q + 1 < le ? s.charCodeAt(q + 1) : 0x20;
      if (n === 0x20 || (flow && n < 128 && FLOW_IND[n] === 1)) throw NOT_SUBSET;
    }
    end = q + 1;
  }
  stop = q;
  return end;
}

/** A one-line double-quoted scalar starting at `s[p] === '"'`; sets {@link stop} after the quote. */
function doubleQuoted(s: string, p: number, le: number): string {
  let out = '';
  let from = p + 1;
  for (let i = from; i < le; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      stop = i + 1;
      return out + s.slice(from, i);
    }
    if (c !== 0x5c) continue;
    out += s.slice(from, i);
    const e = s[++i];
    switch (e) {
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case '/':
        out += '/';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      default:
        throw NOT_SUBSET;
    }
    from = i + 1;
  }
  throw NOT_SUBSET; // not closed on this line
}

/** A one-line single-quoted scalar starting at `s[p] === "'"`; sets {@link stop} after the quote. */
function singleQuoted(s: string, p: number, le: number): string {
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
function expectLineEnd(s: string, p: number, le: number): void {
  if (p >= le) return;
  if (s.charCodeAt(p) !== 0x20) throw NOT_SUBSET;
  while (p < le && s.charCodeAt(p) === 0x20) p++;
  if (p < le && s.charCodeAt(p) !== 0x23) throw NOT_SUBSET;
}

/** Skips spaces from `p` (before `le`). */
function spaces(s: string, p: number, le: number): number {
  while (p < le && s.charCodeAt(p) === 0x20) p++;
  return p;
}

/** A flow value (`[...]`, `{...}`, quoted or plain) within one line; sets {@link stop} after it. */
function flowValue(s: string, p: number, le: number, depth: number): unknown {
  if (depth > 20) throw NOT_SUBSET;
  p = spaces(s, p, le);
  const c = p < le ? s.charCodeAt(p) : -1;
  if (c === 0x5b) {
    // [
    const out: unknown[] = [];
    p = spaces(s, p + 1, le);
    if (p < le && s.charCodeAt(p) === 0x5d) {
      stop = p + 1;
      return out;
    }
    for (;;) {
      out.push(flowValue(s, p, le, depth + 1));
      p = spaces(s, stop, le);
      const d = p < le ? s.charCodeAt(p) : -1;
      if (d === 0x5d) {
        stop = p + 1;
        return out;
      }
      if (d !== 0x2c) throw NOT_SUBSET;
      p = spaces(s, p + 1, le);
      if (p < le && s.charCodeAt(p) === 0x5d) {
        stop = p + 1;
        return out;
      } // trailing comma
    }
  }
  if (c === 0x7b) {
    // {
    const out: Record<string, unknown> = {};
    p = spaces(s, p + 1, le);
    if (p < le && s.charCodeAt(p) === 0x7d) {
      stop = p + 1;
      return out;
    }
    for (;;) {
      const k = keyEnd(s, p, le);
      const key = keyAt(s, p, k);
      if (
        k === p ||
        k + 1 >= le ||
        s.charCodeAt(k) !== 0x3a ||
        s.charCodeAt(k + 1) !== 0x20 ||
        !validKey(key) ||
        Object.prototype.hasOwnProperty.call(out, key)
      )
        throw NOT_SUBSET;
      p = spaces(s, k + 2, le);
      if (p >= le || s.charCodeAt(p) === 0x2c || s.charCodeAt(p) === 0x7d) throw NOT_SUBSET;
      out[key] = flowValue(s, p, le, depth + 1);
      p = spaces(s, stop, le);
      const d = p < le ? s.charCodeAt(p) : -1;
      if (d === 0x7d) {
        stop = p + 1;
        return out;
      }
      if (d !== 0x2c) throw NOT_SUBSET;
      p = spaces(s, p + 1, le);
      if (p < le && s.charCodeAt(p) === 0x7d) {
        stop = p + 1;
        return out;
      }
    }
  }
  if (c === 0x22) return doubleQuoted(s, p, le);
  if (c === 0x27) return singleQuoted(s, p, le);
  const end = scanPlain(s, p, le, true);
  return plainValue(s.slice(p, end));
}

/** Keys must start with a letter or `_` and read as a string. */
function validKey(key: string): boolean {
  const c = key.charCodeAt(0);
  if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f)) return false;
  // Only keys starting with n N t T f F _ can be one of the non-string words.
  return (
    !(c === 0x6e || c === 0x4e || c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46 || c === 0x5f) ||
    !NON_STRING_KEYS.has(key)
  );
}

/**
 * Line-based recursive parser over the subset, on absolute offsets into the text. The current line is
 * `[ls, le)` with indentation `ind`, valid while `loaded`; {@link Parser.next} moves past it.
 */
class Parser {
  /** Start of the next line to look at. */
  pos = 0;
  loaded = false;
  ls = 0;
  le = 0;
  ind = 0;
  readonly len: number;
  constructor(private readonly s: string) {
    this.len = s.length;
  }

  /** Loads the next line that is neither blank nor a comment; false at the end of the text. */
  skip(): boolean {
    if (this.loaded) return true;
    const s = this.s;
    while (this.pos < this.len) {
      const ls = this.pos;
      let le = s.indexOf('\n', ls);
      if (le < 0) le = this.len;
      const i = spaces(s, ls, le);
      if (i < le && s.charCodeAt(i) !== 0x23) {
        // Document markers and directives at column 0 are not ours (a leading `---` is removed before).
        if (i === ls) {
          const c = s.charCodeAt(i);
          if (c === 0x25 || ((c === 0x2d || c === 0x2e) && s.startsWith(c === 0x2d ? '---' : '...', i)))
            throw NOT_SUBSET;
        }
        this.ls = ls;
        this.le = le;
        this.ind = i - ls;
        this.loaded = true;
        return true;
      }
      this.pos = le + 1;
    }
    return false;
  }

  /** Moves past the current line. */
  next(): void {
    this.pos = this.le + 1;
    this.loaded = false;
  }

  /** A block node (mapping or list) whose lines are indented exactly `n` (the current line's). */
  block(n: number): unknown {
    const s = this.s;
    const p = this.ls + n;
    return s.charCodeAt(p) === 0x2d && (p + 1 === this.le || s.charCodeAt(p + 1) === 0x20) ? this.list(n) : this.map(n);
  }

  map(n: number): Record<string, unknown> {
    const s = this.s;
    const out: Record<string, unknown> = {};
    while (this.skip()) {
      if (this.ind < n) break;
      if (this.ind > n) throw NOT_SUBSET;
      const start = this.ls + n;
      const k = keyEnd(s, start, this.le);
      const key = keyAt(s, start, k);
      if (k === start || k >= this.le || s.charCodeAt(k) !== 0x3a || (k + 1 < this.le && s.charCodeAt(k + 1) !== 0x20))
        throw NOT_SUBSET;
      if (!validKey(key) || Object.prototype.hasOwnProperty.call(out, key)) throw NOT_SUBSET;
      out[key] = this.value(k + 1, n, false);
    }
    return out;
  }

  list(n: number): unknown[] {
    const s = this.s;
    const out: unknown[] = [];
    while (this.skip()) {
      if (this.ind < n) break;
      const dash = this.ls + n;
      if (this.ind > n || s.charCodeAt(dash) !== 0x2d) throw NOT_SUBSET;
      if (dash + 1 < this.le && s.charCodeAt(dash + 1) !== 0x20) throw NOT_SUBSET;
      const p = spaces(s, dash + 1, this.le);
      // `- key: value` starts a mapping whose keys sit at column p.
      const k = keyEnd(s, p, this.le);
      if (k > p && k < this.le && s.charCodeAt(k) === 0x3a && (k + 1 === this.le || s.charCodeAt(k + 1) === 0x20)) {
        this.ind = p - this.ls; // the item's first line, seen from the mapping inside it
        out.push(this.map(p - this.ls));
      } else out.push(this.value(dash + 1, n, true));
    }
    return out;
  }

  /** The value after `key:` or `-` at offset `p` of the current line, for a node at indent `n`. */
  value(p: number, n: number, inList: boolean): unknown {
    const s = this.s;
    const le = this.le;
    p = spaces(s, p, le);
    const c = p < le ? s.charCodeAt(p) : -1;
    if (c === -1 || c === 0x23) {
      // nothing (or a comment): the value is the block below, or null
      this.next();
      if (!this.skip()) return null;
      if (this.ind > n) return this.block(this.ind);
      if (this.ind === n && !inList && s.charCodeAt(this.ls + n) === 0x2d) throw NOT_SUBSET; // `key:` then `- x` at the same indent
      return null;
    }
    if (c === 0x7c) return this.literal(p, n); // |
    let v: unknown;
    if (c === 0x5b || c === 0x7b) v = flowValue(s, p, le, 0);
    else if (c === 0x22) v = doubleQuoted(s, p, le);
    else if (c === 0x27) v = singleQuoted(s, p, le);
    else {
      v = plainValue(s.slice(p, scanPlain(s, p, le, false)));
    }
    expectLineEnd(s, stop, le);
    this.next();
    // A more indented line after a one-line value would continue it (or be an error): not ours.
    if (this.skip() && this.ind > n) throw NOT_SUBSET;
    return v;
  }

  /** A literal block scalar whose header (`|` or `|-`) is at offset `p`, for a node at indent `n`. */
  literal(p: number, n: number): string {
    const s = this.s;
    let q = p + 1;
    const strip = q < this.le && s.charCodeAt(q) === 0x2d;
    if (strip) q++;
    expectLineEnd(s, q, this.le);
    this.next();
    // The content's indentation is that of its first non-blank line.
    let m = -1;
    for (let ls = this.pos; ls < this.len; ) {
      let le = s.indexOf('\n', ls);
      if (le < 0) le = this.len;
      const i = spaces(s, ls, le);
      if (i < le) {
        m = i - ls;
        break;
      }
      ls = le + 1;
    }
    const parts: string[] = [];
    let ls = this.pos;
    while (ls < this.len) {
      let le = s.indexOf('\n', ls);
      if (le < 0) le = this.len;
      const i = spaces(s, ls, le);
      if (i === le) {
        // blank line: part of the scalar, but never deeper than the content (or the parent)
        if (le - ls > (m > n ? m : n)) throw NOT_SUBSET;
        parts.push('');
      } else {
        if (m <= n || i - ls < m) break;
        parts.push(s.slice(ls + m, le));
      }
      ls = le + 1;
    }
    // Content running to the end of a text without a final newline chomps differently: not ours.
    if (ls >= this.len && !s.endsWith('\n') && parts.length > 0) throw NOT_SUBSET;
    this.pos = ls;
    this.loaded = false;
    while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    // The next line must not be more indented than the parent (that would be an error).
    if (this.skip() && this.ind > n) throw NOT_SUBSET;
    if (parts.length === 0) return '';
    return strip ? parts.join('\n') : `${parts.join('\n')}\n`;
  }
}

/** A first line `---` (document start, optionally with a comment) that may be dropped. */
const DOC_START = /^---( +#.*)? *(\n|$)/;

/**
 * Parses `text` if it is in the recipe subset of YAML and is a mapping; `undefined` otherwise (then use
 * the full parser). Never throws.
 */
export function fastYaml(text: string): Record<string, unknown> | undefined {
  if (ODD.test(text)) return undefined; // one native scan (irregexp), faster than a charCodeAt loop
  const p = new Parser(text);
  try {
    // Comments, then an optional `---`, then one block mapping at column 0, then nothing.
    while (p.pos < p.len) {
      let le = text.indexOf('\n', p.pos);
      if (le < 0) le = p.len;
      const i = spaces(text, p.pos, le);
      if (i < le && text.charCodeAt(i) !== 0x23) {
        if (i === p.pos && DOC_START.test(text.slice(i, le + 1))) p.pos = le + 1;
        break;
      }
      p.pos = le + 1;
    }
    if (!p.skip() || p.ind !== 0) return undefined;
    if (text.charCodeAt(p.ls) === 0x2d && (p.ls + 1 === p.le || text.charCodeAt(p.ls + 1) === 0x20)) return undefined; // a list
    const v = p.map(0);
    if (p.skip()) return undefined; // something left over
    return v;
  } catch (e) {
    if (e === NOT_SUBSET) return undefined;
    return undefined;
  }
}
