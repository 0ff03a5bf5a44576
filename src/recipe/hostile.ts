/**
 * Checks against hostile recipe input (issue 14), pure: keys that reach an object's prototype (`__proto__`,
 * `constructor`, `prototype`) anywhere, control characters in any string, and absurd sizes (a version over 128
 * characters, a summary over 256, any string over 64 KiB). Recipes are written by people kiln does not trust;
 * these values end up in logs, terminals, control files and shell environments.
 */
import type { Problem } from '../util/errors.js';
import { formatField, posAt, type PositionedYaml } from '../util/yamlpos.js';
import type { Finding } from './checks.js';

/** Keys refused anywhere in a recipe. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** Longest `version`. */
export const MAX_VERSION = 128;
/** Longest `summary`. */
export const MAX_SUMMARY = 256;
/** Longest string anywhere (a script included), in UTF-16 code units (≥ bytes/3, so ~64 KiB). */
export const MAX_STRING = 64 * 1024;
/** Nesting deeper than this is not walked (the schema refuses such shapes anyway). */
const MAX_DEPTH = 32;

// Control characters other than tab and newline: C0, DEL and C1.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

function describeControl(s: string): string {
  const c = CONTROL.exec(s)![0].charCodeAt(0);
  return `holds the control character U+${c.toString(16).toUpperCase().padStart(4, '0')} at offset ${CONTROL.exec(s)!.index}`;
}

function checkString(s: string, path: (string | number)[], out: Finding[]): void {
  if (s.length > MAX_STRING)
    out.push({ path, mode: 'value', message: `is ${s.length} characters long; at most ${MAX_STRING} are allowed` });
  else if (CONTROL.test(s))
    out.push({ path, mode: 'value', message: `${describeControl(s)}; only tab and newline are allowed` });
}

function walk(v: unknown, path: (string | number)[], depth: number, out: Finding[]): void {
  if (typeof v === 'string') {
    checkString(v, path, out);
    return;
  }
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) walk(v[i], [...path, i], depth + 1, out);
    return;
  }
  for (const k of Object.keys(v)) {
    if (FORBIDDEN_KEYS.has(k)) {
      out.push({
        path: [...path, k],
        mode: 'key',
        message: `the key ${k} is not allowed (it names an object's prototype)`,
      });
      continue;
    }
    checkString(k, [...path, k], out);
    walk((v as Record<string, unknown>)[k], [...path, k], depth + 1, out);
  }
}

/** Words that may make a prototype key. */
const PROTO_WORDS = /__proto__|constructor|prototype/;

/**
 * True when no string or key parsed from `text` can be hostile, so the walk of its values can be skipped: no
 * control character, no backslash (an escape could make one, or a prototype key), no prototype word, and too short
 * for any string to be too long (a parsed string never holds more characters than its text without escapes).
 */
function plainText(text: string): boolean {
  return text.length <= MAX_STRING && !text.includes('\\') && !CONTROL.test(text) && !PROTO_WORDS.test(text);
}

/**
 * Every hostile value of raw recipe data (sizes, control characters, prototype keys that survived parsing). With
 * the `text` it was parsed from, strings are walked only when the text could hold a hostile one.
 */
export function hostileFindings(data: unknown, text?: string): Finding[] {
  const out: Finding[] = [];
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return out;
  const d = data as Record<string, unknown>;
  if (typeof d.version === 'string' && d.version.length > MAX_VERSION) {
    out.push({
      path: ['version'],
      mode: 'value',
      message: `is ${d.version.length} characters long; at most ${MAX_VERSION} are allowed`,
    });
  }
  if (typeof d.summary === 'string' && d.summary.length > MAX_SUMMARY) {
    out.push({
      path: ['summary'],
      mode: 'value',
      message: `is ${d.summary.length} characters long; at most ${MAX_SUMMARY} are allowed`,
    });
  }
  if (text === undefined || !plainText(text)) walk(data, [], 0, out);
  return out;
}

interface AstNode {
  items?: unknown[];
  range?: [number, number, number];
}
interface AstPair {
  key?: { value?: unknown; range?: [number, number, number] } | null;
  value?: unknown;
}

/**
 * Prototype keys in the YAML document itself: a YAML parser turns `__proto__:` into the object's prototype, so
 * the parsed value no longer shows the key. Located at the key.
 */
export function hostileKeyProblems(yaml: PositionedYaml): Problem[] {
  const out: Problem[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    const items = (node as AstNode | null)?.items;
    if (!Array.isArray(items) || path.length > MAX_DEPTH) return;
    items.forEach((it, i) => {
      const pair = it as AstPair | null;
      if (!pair || typeof pair !== 'object' || !('key' in pair)) {
        visit(it, [...path, i]);
        return;
      }
      const k = pair.key?.value;
      const at = pair.key?.range?.[0];
      if (typeof k === 'string' && FORBIDDEN_KEYS.has(k) && at !== undefined) {
        out.push({
          path: yaml.path,
          ...posAt(yaml, at),
          field: formatField([...path, k]),
          message: `the key ${k} is not allowed (it names an object's prototype)`,
        });
      }
      visit(pair.value, [...path, String(k)]);
    });
  };
  visit(yaml.doc.contents, []);
  return out;
}
