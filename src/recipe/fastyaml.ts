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
 *
 * This file reads lines and the block structure; keys, scalars and flow collections are in
 * `fastyaml-scalar.ts`, the making of mappings (cached object literals) in `fastyaml-object.ts`.
 */

import {
  NOT_SUBSET,
  doubleQuoted,
  expectLineEnd,
  flowValue,
  keyAt,
  keyEnd,
  keyId,
  markKey,
  plainValue,
  resetScan,
  scanPlainBlock,
  singleQuoted,
  spaces,
  stop,
} from './fastyaml-scalar.js';
import { addKey, closeMap, keySeqHash, openMap, resetMaps, setValue } from './fastyaml-object.js';

/** Characters outside this set (tabs, CR, control, astral, U+2028/9, BOM...) are left to the full parser. */
const ODD = /[^\n\x20-\x7e\u00a1-\u2027\u202a-\ud7ff\ue000-\ufffc]/;

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
    const base = openMap();
    let seen = 0;
    let hash = 0;
    while (this.skip()) {
      if (this.ind < n) break;
      if (this.ind > n) throw NOT_SUBSET;
      const start = this.ls + n;
      const k = keyEnd(s, start, this.le);
      if (k === start || k >= this.le || s.charCodeAt(k) !== 0x3a || (k + 1 < this.le && s.charCodeAt(k + 1) !== 0x20))
        throw NOT_SUBSET;
      const key = keyAt(s, start, k);
      hash = keySeqHash(hash, keyId);
      seen = markKey(seen, base, key);
      if (seen < 0) throw NOT_SUBSET;
      const slot = addKey(key);
      setValue(slot, this.value(k + 1, n, false));
    }
    return closeMap(base, hash);
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
    else v = plainValue(s, p, scanPlainBlock(s, p, le));
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
  resetScan();
  resetMaps();
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
