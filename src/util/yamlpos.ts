/**
 * YAML with positions: parses text with the `yaml` package (`parseDocument` + `LineCounter`), turns every
 * YAML-level fault (syntax, duplicate keys, tabs, several documents, not a mapping, an empty file) into a
 * located {@link Problem}, and maps a zod issue path (`['sources', 0, 'sha256']`) to a 1-based line and
 * column. Used by every YAML input kiln reads (recipes, `kiln.yaml`). Slower than a plain parse: callers
 * with a fast path (recipes) come here only when the fast path found a fault.
 */
import { isUtf8 } from 'node:buffer';
import type { z } from 'zod';
import type { Problem } from './errors.js';
import {
  Y,
  fieldAt,
  formatField,
  isMap,
  isScalar,
  isSeq,
  posAt,
  startOf,
  type PositionedYaml,
} from './yamlpos-locate.js';
import { zodProblems } from './yamlpos-zod.js';

// The whole surface stays here: positions and paths live in yamlpos-locate.ts, zod issues in yamlpos-zod.ts.
export {
  fieldAt,
  formatField,
  locate,
  posAt,
  type FieldPath,
  type Position,
  type PositionedYaml,
} from './yamlpos-locate.js';
export { zodProblems } from './yamlpos-zod.js';

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

/** Parses YAML text with positions; every YAML-level fault becomes a located problem. */
export function parseYamlPositioned(text: string, path: string, opts: YamlParseOptions = {}): YamlParse {
  const lines = new (Y().LineCounter)();
  const doc = Y().parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yaml: PositionedYaml = { path, text, doc, lines };
  const problems = yamlFaults(yaml);
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
  keyAndAliasProblems(yaml, problems);
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

/** The `yaml` package's errors and warnings (syntax, duplicate keys, tabs, several documents), located. */
function yamlFaults(yaml: PositionedYaml): Problem[] {
  const problems: Problem[] = [];
  for (const e of [...yaml.doc.errors, ...yaml.doc.warnings]) {
    const at = e.pos[0];
    problems.push({
      ...posAt(yaml, at),
      path: yaml.path,
      field: formatField(fieldAt(yaml, at)),
      message: cleanYamlMessage(e.code, e.message),
    });
  }
  return problems;
}

/** Adds to `problems` each key that is not a plain scalar and each alias with no anchor before it. */
function keyAndAliasProblems(yaml: PositionedYaml, problems: Problem[]): void {
  const { doc, path } = yaml;
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
