/**
 * Positions in a parsed YAML document (the part of `yamlpos.ts` that maps paths and offsets to places): the `yaml`
 * package loaded on first use, field paths formatted as kiln prints them, a path followed through the document
 * (`locate`), and the path at an offset (`fieldAt`).
 */
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node as YamlNode, Pair } from 'yaml';

/**
 * The `yaml` package, loaded on first use: the recipe fast path never needs it, and not loading it saves
 * ~40 ms at the start of every process and worker thread.
 */
let yamlLib: typeof import('yaml') | undefined;
export function Y(): typeof import('yaml') {
  yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlLib;
}
export const isAlias = (n: unknown): n is import('yaml').Alias => Y().isAlias(n);
export const isMap = (n: unknown): n is import('yaml').YAMLMap => Y().isMap(n);
export const isScalar = (n: unknown): n is import('yaml').Scalar => Y().isScalar(n);
export const isSeq = (n: unknown): n is import('yaml').YAMLSeq => Y().isSeq(n);

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

/** Node range start, or undefined. */
export function startOf(node: unknown): number | undefined {
  const r = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return r ? r[0] : undefined;
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
export function walk(yaml: PositionedYaml, path: FieldPath): Walked {
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
