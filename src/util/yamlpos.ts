/**
 * YAML with positions: parses text with the `yaml` package (`parseDocument` + `LineCounter`), turns every
 * YAML-level fault (syntax, duplicate keys, tabs, several documents, not a mapping, an empty file) into a
 * located {@link Problem}, and maps a zod issue path (`['sources', 0, 'sha256']`) to a 1-based line and
 * column. Used by every YAML input kiln reads (recipes, `kiln.yaml`). Slower than a plain parse: callers
 * with a fast path (recipes) come here only when the fast path found a fault.
 */
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node as YamlNode, Pair } from 'yaml';
import type { z } from 'zod';
import type { Problem } from './errors.js';

/**
 * The `yaml` package, loaded on first use: the recipe fast path never needs it, and not loading it saves
 * ~40 ms at the start of every process and worker thread.
 */
let yamlLib: typeof import('yaml') | undefined;
function Y(): typeof import('yaml') {
  yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlLib;
}
const isAlias = (n: unknown): n is import('yaml').Alias => Y().isAlias(n);
const isMap = (n: unknown): n is import('yaml').YAMLMap => Y().isMap(n);
const isScalar = (n: unknown): n is import('yaml').Scalar => Y().isScalar(n);
const isSeq = (n: unknown): n is import('yaml').YAMLSeq => Y().isSeq(n);

/** A field path as zod reports it: keys and list indices. */
export type FieldPath = readonly (string | number)[];

/** A 1-based position in a text. */
export interface Position {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/** A parsed YAML document that remembers where every node came from. */
export interface PositionedYaml {
  /** File name used in problems. */
  readonly path: string;
  /** The source text. */
  readonly text: string;
  /** The `yaml` package's document (with ranges). */
  readonly doc: Document.Parsed;
  /** Offsets → lines. */
  readonly lines: LineCounter;
}

/** What {@link parseYamlPositioned} returns. */
export interface YamlParse {
  /** The positioned document, for locating later problems. */
  readonly yaml: PositionedYaml;
  /** The plain JavaScript value; absent when there were problems. */
  readonly value?: unknown;
  /** YAML-level problems (empty when `value` is present). */
  readonly problems: Problem[];
}

/** Options of {@link parseYamlPositioned}. */
export interface YamlParseOptions {
  /** An empty file (or only comments) yields `{}` instead of a problem (kiln.yaml: all defaults). */
  readonly allowEmpty?: boolean;
}

/** Formats a field path as kiln prints it: `sources[0].sha256`, `depends.build[2]`; `-` for the root. */
export function formatField(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '-' : out;
}

/**
 * Decodes file bytes as UTF-8. Invalid UTF-8 is a problem located at the first bad byte (YAML is text;
 * silently replacing bytes would hide a corrupt file).
 */
export function decodeUtf8(bytes: Buffer, path: string): { text?: string; problem?: Problem } {
  if (isUtf8(bytes)) return { text: bytes.toString('utf8') };
  let line = 1;
  for (let start = 0; start <= bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const lineBytes = bytes.subarray(start, end);
    if (!isUtf8(lineBytes)) {
      let good = 0; // longest valid prefix of the line, in bytes
      for (let n = lineBytes.length - 1; n >= 0; n--)
        if (isUtf8(lineBytes.subarray(0, n))) {
          good = n;
          break;
        }
      const column = [...lineBytes.subarray(0, good).toString('utf8')].length + 1;
      return { problem: { path, line, column, field: '-', message: 'the file is not valid UTF-8 text' } };
    }
    start = end + 1;
  }
  return { problem: { path, line: 1, column: 1, field: '-', message: 'the file is not valid UTF-8 text' } };
}

/** Cleans a `yaml` package message: first line, without its own " at line L, column C:" suffix. */
function cleanYamlMessage(code: string, message: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: each key may appear only once in a mapping';
    case 'TAB_AS_INDENT':
      return 'tab used for indentation: indent with spaces';
    case 'MULTIPLE_DOCS':
      return 'the file holds more than one YAML document (a "---" line): keep one';
    default: {
      const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?\s*$/, '').trim();
      return `YAML: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
    }
  }
}

/** Node range start, or undefined. */
function startOf(node: unknown): number | undefined {
  const r = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return r ? r[0] : undefined;
}

/** Parses YAML text with positions; every YAML-level fault becomes a located problem. */
export function parseYamlPositioned(text: string, path: string, opts: YamlParseOptions = {}): YamlParse {
  const lines = new (Y().LineCounter)();
  const doc = Y().parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yaml: PositionedYaml = { path, text, doc, lines };
  const problems: Problem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const at = e.pos[0];
    problems.push({
      ...posAt(yaml, at),
      path,
      field: formatField(fieldAt(yaml, at)),
      message: cleanYamlMessage(e.code, e.message),
    });
  }
  if (problems.length > 0) return { yaml, problems: sortProblems(dedupe(problems)) };
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null && contents.source === '')) {
    if (opts.allowEmpty) return { yaml, value: {}, problems };
    problems.push({
      path,
      line: 1,
      column: 1,
      field: '-',
      message: 'the file is empty: expected a mapping of "key: value" lines',
    });
    return { yaml, problems };
  }
  if (!isMap(contents)) {
    const what = isSeq(contents) ? 'a list' : 'a single value';
    problems.push({
      ...posAt(yaml, startOf(contents) ?? 0),
      path,
      field: '-',
      message: `the document is ${what}: expected a mapping of "key: value" lines`,
    });
    return { yaml, problems };
  }
  Y().visit(doc, {
    Pair(_key, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        const at = startOf(pair.key) ?? 0;
        problems.push({
          ...posAt(yaml, at),
          path,
          field: formatField(fieldAt(yaml, at)),
          message: 'YAML: a key must be a plain word, not a list or mapping',
        });
      }
    },
    Alias(_key, node) {
      if (node.resolve(doc) === undefined) {
        problems.push({
          ...posAt(yaml, node.range?.[0] ?? 0),
          path,
          field: formatField(fieldAt(yaml, node.range?.[0] ?? 0)),
          message: `YAML: alias *${node.source} has no anchor &${node.source} before it`,
        });
      }
    },
  });
  if (problems.length > 0) return { yaml, problems };
  try {
    return { yaml, value: doc.toJS({ maxAliasCount: 1000 }), problems };
  } catch (e) {
    problems.push({
      path,
      line: 1,
      column: 1,
      field: '-',
      message: `YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
    });
    return { yaml, problems };
  }
}

/** 1-based line and column of a character offset. */
export function posAt(yaml: PositionedYaml, offset: number): Position {
  const p = yaml.lines.linePos(Math.max(0, Math.min(offset, yaml.text.length)));
  return { line: Math.max(1, p.line), column: Math.max(1, p.col) };
}

/** Is this key node the given path segment? */
function keyIs(key: unknown, seg: string | number): boolean {
  if (isScalar(key)) return String(key.value) === String(seg);
  return false;
}

/** Whether a pair's value is empty (`key:` with nothing after it). */
function emptyValue(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null && (node.source ?? '') === '');
}

interface Walked {
  /** Nodes along the path that exist: `nodes[0]` is the root, `nodes[k]` the node at `path[0..k)`. */
  readonly nodes: unknown[];
  /** `pairs[k]`: the pair holding `nodes[k]` when its parent is a mapping. */
  readonly pairs: (Pair | undefined)[];
}

/** Follows `path` from the document root as far as it exists. */
function walk(yaml: PositionedYaml, path: FieldPath): Walked {
  const nodes: unknown[] = [yaml.doc.contents];
  const pairs: (Pair | undefined)[] = [undefined];
  let node: unknown = yaml.doc.contents;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(yaml.doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyIs(p.key, seg));
      if (!pair) break;
      node = pair.value;
      nodes.push(node);
      pairs.push(pair as Pair);
    } else if (isSeq(node) && typeof seg === 'number' && seg >= 0 && seg < node.items.length) {
      node = node.items[seg];
      nodes.push(node);
      pairs.push(undefined);
    } else break;
  }
  return { nodes, pairs };
}

/** Where to point for a node: its start, or its key's when the value is empty. */
function nodeStart(node: unknown, pair: Pair | undefined): number | undefined {
  if (emptyValue(node) && pair) return startOf(pair.key);
  return startOf(node) ?? (pair ? startOf(pair.key) : undefined);
}

/**
 * Where a field is: `value` (default) points at the value's node (or its key when the value is empty);
 * `key` at the key; `parent` at the enclosing mapping (for a missing key). Paths that do not exist fall
 * back to the deepest existing ancestor. `needle`, when given, is searched inside the node's text (for a
 * word inside a script) and pointed at when found.
 */
export function locate(
  yaml: PositionedYaml,
  path: FieldPath,
  mode: 'value' | 'key' | 'parent' = 'value',
  needle?: string,
): Position {
  const target = mode === 'parent' ? path.slice(0, -1) : path;
  const { nodes, pairs } = walk(yaml, target);
  const k = nodes.length - 1;
  const complete = k === target.length;
  let offset: number | undefined;
  if (complete && mode === 'key' && pairs[k]) offset = startOf(pairs[k]!.key);
  if (offset === undefined) offset = nodeStart(nodes[k], pairs[k]);
  if (complete && needle !== undefined && offset !== undefined) {
    const end = (nodes[k] as { range?: [number, number, number] } | null)?.range?.[1] ?? yaml.text.length;
    const at = yaml.text.indexOf(needle, offset);
    if (at >= 0 && at < end) offset = at;
  }
  return offset === undefined ? { line: 1, column: 1 } : posAt(yaml, offset);
}

/** The field path of the deepest node whose source range contains `offset` (for YAML errors). */
export function fieldAt(yaml: PositionedYaml, offset: number): (string | number)[] {
  const out: (string | number)[] = [];
  let node: unknown = yaml.doc.contents;
  for (let depth = 0; depth < 200; depth++) {
    if (isMap(node)) {
      let next: unknown;
      for (const p of node.items) {
        const ks = startOf(p.key);
        const end = (p.value as YamlNode | null)?.range?.[2] ?? (p.key as YamlNode | null)?.range?.[2];
        if (ks === undefined || end === undefined || offset < ks || offset >= end) continue;
        if (!isScalar(p.key)) return out;
        out.push(String(p.key.value));
        // An error right at the start of a value is about the value as a whole: stop at its key.
        if (startOf(p.value) === offset) return out;
        next = p.value;
        break;
      }
      if (next === undefined) return out;
      node = next;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((it) => {
        const r = (it as YamlNode | null)?.range;
        return r != null && offset >= r[0] && offset < r[2];
      });
      if (i < 0) return out;
      out.push(i);
      node = node.items[i];
    } else return out;
  }
  return out;
}

/** Sorts problems by line, then column (stable otherwise). */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Drops exact repeats. */
export function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.line}:${p.column}:${p.field}:${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ---- zod issues → located problems ----------------------------------------------------------------

/** A zod issue (zod 4). */
type Issue = z.core.$ZodIssue;

/** Minimal view of a zod schema's definition, for walking it. */
interface Def {
  type: string;
  shape?: Record<string, Schema>;
  element?: Schema;
  innerType?: Schema;
  valueType?: Schema;
  options?: Schema[];
  in?: Schema;
  values?: unknown[];
}
interface Schema {
  _zod: { def: Def };
}

/** Unwraps optional/default/nullable/pipe wrappers. */
function unwrap(s: Schema | undefined): Schema | undefined {
  for (let i = 0; s && i < 20; i++) {
    const d = s._zod.def;
    if (
      d.innerType &&
      ['optional', 'default', 'nullable', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type)
    )
      s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
  return s;
}

/** The (unwrapped) schema at `path`, if the path leads through objects, arrays and records. */
function schemaAt(root: Schema | undefined, path: FieldPath): Schema | undefined {
  let s = unwrap(root);
  for (const seg of path) {
    if (!s) return undefined;
    const d = s._zod.def;
    if (d.type === 'object' && typeof seg === 'string') s = unwrap(d.shape?.[seg]);
    else if (d.type === 'array') s = unwrap(d.element);
    else if (d.type === 'record') s = unwrap(d.valueType);
    else if (d.type === 'union') {
      const want = typeof seg === 'number' ? 'array' : 'object';
      const opt = d.options?.map(unwrap).find((o) => o?._zod.def.type === want);
      s = opt ? schemaAt(opt, [seg]) : undefined;
    } else return undefined;
  }
  return s;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** "unknown key" with a suggestion or the list of allowed keys. */
function unknownKeyMessage(key: string, allowed: string[]): string {
  const best = allowed
    .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)[0];
  if (best && best.d <= Math.max(1, Math.floor(best.k.length / 3)))
    return `unknown key "${key}" (did you mean "${best.k}"?)`;
  return allowed.length > 0 ? `unknown key "${key}"; allowed keys: ${allowed.join(', ')}` : `unknown key "${key}"`;
}

/** The value at `path` in plain data, and whether the last key exists. */
function valueAt(data: unknown, path: FieldPath): { found: boolean; value: unknown } {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, seg))
      return { found: false, value: undefined };
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return { found: true, value: cur };
}

/** "a string", "a list", … for zod's expected type names. */
function expectedName(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping';
    case 'null':
      return 'empty';
    default:
      return expected;
  }
}

/** Describes a YAML value for "not …": "the number 2.1", "a list", "empty". */
function actualName(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  return `the ${typeof v} ${String(v)}`;
}

/** Source text of the scalar at `path`, if it is one. */
function scalarSource(yaml: PositionedYaml, path: FieldPath): string | undefined {
  const { nodes } = walk(yaml, path);
  const n = nodes.length === path.length + 1 ? nodes[nodes.length - 1] : undefined;
  return isScalar(n) && typeof n.source === 'string' ? n.source : undefined;
}

/** The zod default message prefixes: a schema's own messages are kept as written. */
const ZOD_DEFAULT = /^(Invalid|Too (small|big)|Expected|Unrecognized)/;

/** One issue → problems (unions and unknown keys can give several). */
function issueProblems(
  yaml: PositionedYaml,
  issue: Issue,
  base: FieldPath,
  data: unknown,
  schema: Schema | undefined,
  out: Problem[],
): void {
  const path = [...base, ...(issue.path as (string | number)[])];
  const at = (p: FieldPath, mode: 'value' | 'key' | 'parent', message: string) =>
    out.push({ path: yaml.path, ...locate(yaml, p, mode), field: formatField(p), message });
  const own = !ZOD_DEFAULT.test(issue.message);
  if (
    path.length > 0 &&
    (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union') &&
    !valueAt(data, path).found
  ) {
    const want =
      issue.code === 'invalid_type'
        ? expectedName(issue.expected)
        : issue.code === 'invalid_value'
          ? `one of ${issue.values.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ')}`
          : 'a value';
    at(path, 'parent', `is missing: it is required (${want})`);
    return;
  }
  switch (issue.code) {
    case 'unrecognized_keys': {
      const obj = schemaAt(schema, path);
      const allowed = obj?._zod.def.type === 'object' ? Object.keys(obj._zod.def.shape ?? {}) : [];
      for (const key of issue.keys) at([...path, key], 'key', unknownKeyMessage(key, allowed));
      return;
    }
    case 'invalid_key': {
      const inner = issue.issues[0]?.message;
      const key = path[path.length - 1];
      at(path, 'key', `key "${String(key)}" ${inner && !ZOD_DEFAULT.test(inner) ? inner : 'is not allowed here'}`);
      return;
    }
    case 'invalid_union': {
      const v = valueAt(data, path).value;
      if (v !== null && typeof v === 'object') {
        // The branch that accepted the value's kind (its issues are all deeper): report those.
        const branch = issue.errors.find((errs) => errs.length > 0 && errs.every((e) => e.path.length > 0));
        if (branch) {
          for (const e of branch) issueProblems(yaml, e, path, data, schema, out);
          return;
        }
      }
      const u = schemaAt(schema, path);
      const kinds = (u?._zod.def.options ?? []).map((o) => {
        const d = unwrap(o)?._zod.def;
        if (d?.type === 'literal' || d?.type === 'enum')
          return (d.values ?? []).map((x) => JSON.stringify(x)).join(', ');
        return expectedName(d?.type ?? 'value');
      });
      const list =
        kinds.length > 1
          ? `${kinds.slice(0, -1).join(', ')} or ${kinds[kinds.length - 1]}`
          : (kinds[0] ?? 'something else');
      at(path, 'value', `must be ${list}, not ${actualName(v)}`);
      return;
    }
    case 'invalid_type': {
      const { value } = valueAt(data, path);
      const expected = expectedName(issue.expected);
      let msg = `must be ${expected}, not ${actualName(value)}`;
      const src = scalarSource(yaml, path);
      if (issue.expected === 'string' && src !== undefined && value !== null && typeof value !== 'object')
        msg += `; quote it: "${src}"`;
      if (issue.expected === 'int' && typeof value === 'number') msg = `must be a whole number, not ${value}`;
      at(path, 'value', msg);
      return;
    }
    case 'invalid_value': {
      const v = valueAt(data, path).value;
      const vals = issue.values.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
      at(
        path,
        'value',
        vals.length === 1
          ? `must be ${vals[0]}, not ${actualName(v)}`
          : `must be one of ${vals.join(', ')}; not ${actualName(v)}`,
      );
      return;
    }
    case 'invalid_format':
      at(path, 'value', own ? issue.message : `must be a valid ${issue.format}`);
      return;
    case 'too_small':
    case 'too_big': {
      if (own) {
        at(path, 'value', issue.message);
        return;
      }
      const small = issue.code === 'too_small';
      const bound = Number(
        small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum,
      );
      const incl = issue.inclusive !== false;
      let msg: string;
      if (issue.origin === 'string')
        msg =
          small && bound <= 1
            ? 'must not be empty'
            : `must be ${small ? 'at least' : 'at most'} ${bound} characters long`;
      else if (issue.origin === 'array' || issue.origin === 'set')
        msg =
          small && bound <= 1
            ? 'must not be an empty list'
            : `must have ${small ? 'at least' : 'at most'} ${bound} entries`;
      else
        msg = `must be ${small ? (incl ? 'at least' : 'more than') : incl ? 'at most' : 'less than'} ${bound}, not ${actualName(valueAt(data, path).value)}`;
      at(path, 'value', msg);
      return;
    }
    default:
      at(path, 'value', issue.message);
  }
}

/** Turns zod issues (from validating `data`, the value of `yaml`) into located problems. */
export function zodProblems(
  yaml: PositionedYaml,
  issues: readonly Issue[],
  data: unknown,
  schema?: z.ZodType,
): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) issueProblems(yaml, issue, [], data, schema as unknown as Schema | undefined, out);
  return out;
}

/** Parses YAML text with positions and validates it with `schema`: the value, or every located problem. */
export function validateYaml<S extends z.ZodType>(
  schema: S,
  text: string,
  path: string,
  opts: YamlParseOptions = {},
): { value?: z.output<S>; problems: Problem[]; yaml: PositionedYaml } {
  const parsed = parseYamlPositioned(text, path, opts);
  if (parsed.problems.length > 0) return { problems: parsed.problems, yaml: parsed.yaml };
  const res = schema.safeParse(parsed.value);
  if (res.success) return { value: res.data, problems: [], yaml: parsed.yaml };
  return {
    problems: sortProblems(dedupe(zodProblems(parsed.yaml, res.error.issues, parsed.value, schema))),
    yaml: parsed.yaml,
  };
}
