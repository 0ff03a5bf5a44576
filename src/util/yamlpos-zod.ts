/**
 * zod issues → located problems (the part of `yamlpos.ts` that explains a schema's complaints): each issue pointed
 * at its value, key or enclosing mapping, in kiln's words ("must be a list, not the number 2", "unknown key … did
 * you mean …", "is missing: it is required").
 */
import type { z } from 'zod';
import { editDistance } from './distance.js';
import type { Problem } from './errors.js';
import { formatField, isScalar, locate, walk, type FieldPath, type PositionedYaml } from './yamlpos-locate.js';

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

/** "unknown key" with a suggestion or the list of allowed keys. */
function unknownKeyMessage(key: string, allowed: string[]): string {
  const best = allowed
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
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

/** Adds one located problem: at `path`'s value, key, or enclosing mapping. */
type At = (p: FieldPath, mode: 'value' | 'key' | 'parent', message: string) => void;

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
  const at: At = (p, mode, message) => {
    out.push({ path: yaml.path, ...locate(yaml, p, mode), field: formatField(p), message });
  };
  const own = !ZOD_DEFAULT.test(issue.message);
  const missing = missingMessage(issue, path, data);
  if (missing !== undefined) {
    at(path, 'parent', missing);
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
    case 'invalid_union':
      unionProblems(yaml, issue, path, data, schema, out, at);
      return;
    case 'invalid_type':
      at(path, 'value', typeMessage(yaml, issue, path, data));
      return;
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
    case 'too_big':
      at(path, 'value', own ? issue.message : sizeMessage(issue, path, data));
      return;
    default:
      at(path, 'value', issue.message);
  }
}

/** A required field that is absent (zod says wrong type, value or union of `undefined`): "is missing: …". */
function missingMessage(issue: Issue, path: FieldPath, data: unknown): string | undefined {
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
    return `is missing: it is required (${want})`;
  }
  return undefined;
}

/**
 * A value no branch of a union takes: the problems of the branch that accepted its kind (a mapping or list whose
 * issues are all deeper), else "must be A, B or C, not …".
 */
function unionProblems(
  yaml: PositionedYaml,
  issue: Extract<Issue, { code: 'invalid_union' }>,
  path: FieldPath,
  data: unknown,
  schema: Schema | undefined,
  out: Problem[],
  at: At,
): void {
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
    if (d?.type === 'literal' || d?.type === 'enum') return (d.values ?? []).map((x) => JSON.stringify(x)).join(', ');
    return expectedName(d?.type ?? 'value');
  });
  const list =
    kinds.length > 1
      ? `${kinds.slice(0, -1).join(', ')} or ${kinds[kinds.length - 1]}`
      : (kinds[0] ?? 'something else');
  at(path, 'value', `must be ${list}, not ${actualName(v)}`);
}

/** "must be a string, not …" (with "quote it" for a plain scalar where a string was wanted). */
function typeMessage(
  yaml: PositionedYaml,
  issue: Extract<Issue, { code: 'invalid_type' }>,
  path: FieldPath,
  data: unknown,
): string {
  const { value } = valueAt(data, path);
  const expected = expectedName(issue.expected);
  let msg = `must be ${expected}, not ${actualName(value)}`;
  const src = scalarSource(yaml, path);
  if (issue.expected === 'string' && src !== undefined && value !== null && typeof value !== 'object')
    msg += `; quote it: "${src}"`;
  if (issue.expected === 'int' && typeof value === 'number') msg = `must be a whole number, not ${value}`;
  return msg;
}

/** zod's default too-small / too-big in kiln's words: characters, entries, or the number's bound. */
function sizeMessage(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>, path: FieldPath, data: unknown): string {
  const small = issue.code === 'too_small';
  const bound = Number(
    small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum,
  );
  const incl = issue.inclusive !== false;
  let msg: string;
  if (issue.origin === 'string')
    msg =
      small && bound <= 1 ? 'must not be empty' : `must be ${small ? 'at least' : 'at most'} ${bound} characters long`;
  else if (issue.origin === 'array' || issue.origin === 'set')
    msg =
      small && bound <= 1
        ? 'must not be an empty list'
        : `must have ${small ? 'at least' : 'at most'} ${bound} entries`;
  else
    msg = `must be ${small ? (incl ? 'at least' : 'more than') : incl ? 'at most' : 'less than'} ${bound}, not ${actualName(valueAt(data, path).value)}`;
  return msg;
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
