/**
 * Code generation for `compile.ts`: one function per object schema whose fields' common shapes (scalars,
 * optional / default scalars, lists of scalars) are checked inline, in the generated code, instead of
 * through a chain of small closures. The meaning is exactly that of `compile.ts`'s per-node closures
 * (which still handle every other shape, called from the generated code); zod's check objects still run
 * every check that is not a plain predicate (URL, refinements).
 */

/** One of zod's check objects. */
export interface Check {
  _zod: {
    def: { check?: string; when?: (payload: { value: unknown; issues: unknown[] }) => boolean };
    check: (payload: { value: unknown; issues: unknown[] }) => unknown;
  };
}
/** The parts of zod's schema definitions the compiler reads. */
export interface Def {
  type: string;
  checks?: Check[];
  format?: string;
  shape?: Record<string, Schema>;
  catchall?: Schema;
  element?: Schema;
  keyType?: Schema;
  valueType?: Schema;
  options?: Schema[];
  innerType?: Schema;
  entries?: Record<string, unknown>;
  values?: unknown[];
  defaultValue?: unknown;
}
/** A zod schema node. */
export interface Schema {
  _zod: { def: Def };
}

/** Thrown at compile time for a construct this compiler does not handle. */
export class Unsupported extends Error {}

/** The parameters of zod's common checks that {@link classify} reads. */
interface CheckParams {
  check?: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  value?: unknown;
  inclusive?: boolean;
  when?: (payload: { value: unknown; issues: unknown[] }) => boolean;
}

/** A check whose meaning is fixed by its parameters (see {@link classify}). */
export type Plain =
  | { kind: 'regex'; re: RegExp }
  | { kind: 'min_length'; min: number }
  | { kind: 'safeint' }
  | { kind: 'bound'; above: boolean; bound: number; inclusive: boolean };

/**
 * The common kinds of check whose meaning is fixed by their parameters (a regex, a length floor of at
 * most 1, a safe integer, a bound), read from zod's own check definition; undefined for any other kind
 * (a refinement, a URL...), which then runs through zod's check object.
 */
export function classify(c: Check): Plain | undefined {
  const d = c._zod.def as CheckParams;
  // A `when` other than zod's default "has a length" (only min_length has one here) is left to zod.
  if (d.when !== undefined && !(d.check === 'min_length' && d.when.name === '_whenHasLength')) return undefined;
  if (d.check === 'string_format' && d.format === 'regex' && d.pattern instanceof RegExp)
    return { kind: 'regex', re: d.pattern };
  // Up to 1, UTF-16 units and code points agree (zod counts code points); `when` holds for strings and arrays.
  if (d.check === 'min_length' && typeof d.minimum === 'number' && d.minimum <= 1)
    return { kind: 'min_length', min: d.minimum };
  if (d.check === 'number_format' && d.format === 'safeint') return { kind: 'safeint' };
  if ((d.check === 'greater_than' || d.check === 'less_than') && typeof d.value === 'number')
    return { kind: 'bound', above: d.check === 'greater_than', bound: d.value, inclusive: d.inclusive === true };
  return undefined;
}

/** Runs one of zod's check objects on a value; true when it adds no issue. */
export function viaZod(c: Check, value: unknown): boolean {
  const payload = { value, issues: [] as unknown[] };
  const when = c._zod.def.when;
  if (when !== undefined && !when(payload)) return true; // as zod: a check may apply only to some values
  const r = c._zod.check(payload);
  // A check that rewrites the value (zod's url check trims it) is left to zod, whose output then differs.
  return !(r instanceof Promise) && payload.issues.length === 0 && payload.value === value;
}

/** Source being generated: constants the code refers to (as `c0`, `c1`...) and fresh variable names. */
export class Gen {
  readonly consts: unknown[] = [];
  private n = 0;
  /** A name for the constant `v` in the generated code. */
  ref(v: unknown): string {
    this.consts.push(v);
    return `c${this.consts.length - 1}`;
  }
  /** A fresh variable name. */
  tmp(): string {
    return `t${this.n++}`;
  }
  /** The function `function validateObject(v) { body }`, with the constants and `env` (FAIL, ABSENT...) bound. */
  make(body: string, env: Record<string, unknown>): (v: unknown) => unknown {
    const names = Object.keys(env);
    const decls = this.consts.map((_c, i) => `const c${i} = K[${i}];`).join('\n');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const factory = new Function('K', ...names, `${decls}\nreturn function validateObject(v) {\n${body}\n};`) as (
      ...args: unknown[]
    ) => (v: unknown) => unknown;
    return factory(this.consts, ...names.map((k) => env[k]));
  }
}

/** An expression true when the plain check `p` (or zod's check object `c`) accepts `x` (a variable name). */
function checkExpr(c: Check, x: string, isString: boolean, g: Gen): string {
  const p = classify(c);
  if (p?.kind === 'regex') {
    const re = g.ref(p.re);
    return `(${re}.lastIndex = 0, ${re}.test(${x}))`;
  }
  if (p?.kind === 'min_length' && isString) return `${x}.length >= ${p.min}`;
  if (p?.kind === 'safeint') return `Number.isSafeInteger(${x})`;
  if (p?.kind === 'bound')
    return `(typeof ${x} === "number" && ${x} ${p.above ? '>' : '<'}${p.inclusive ? '=' : ''} ${g.ref(p.bound)})`;
  return `${g.ref((v: unknown) => viaZod(c, v))}(${x})`; // any other check, and min_length on a non-string
}

/**
 * For a scalar node whose output is its input (string, number; boolean, enum, literal without checks): an
 * expression true when the node accepts `x`, exactly as `compile.ts`'s closure for it. Undefined for any
 * other node.
 */
export function scalarExpr(s: Schema, x: string, g: Gen): string | undefined {
  const d = s._zod.def;
  const checks = d.checks ?? [];
  for (const c of checks) if (c._zod.def.check === 'overwrite') throw new Unsupported('check');
  const all = (head: string, isString: boolean) =>
    [head, ...checks.map((c) => checkExpr(c, x, isString, g))].join(' && ');
  switch (d.type) {
    case 'string':
      if (d.format !== undefined) throw new Unsupported('string format node');
      return all(`typeof ${x} === "string"`, true);
    case 'number':
      return all(`typeof ${x} === "number" && Number.isFinite(${x})`, false);
  }
  if (checks.length > 0) return undefined;
  switch (d.type) {
    case 'boolean':
      return `typeof ${x} === "boolean"`;
    case 'enum':
      return `typeof ${x} === "string" && ${g.ref(new Set(Object.values(d.entries ?? {})))}.has(${x})`;
    case 'literal':
      return `${g.ref(d.values ?? [])}.includes(${x})`;
    default:
      return undefined;
  }
}

/** A list of scalars without checks of its own: the scalar element's expression on `e`, else undefined. */
function scalarList(s: Schema, e: string, g: Gen): string | undefined {
  const d = s._zod.def;
  if (d.type !== 'array' || (d.checks && d.checks.length > 0)) return undefined;
  return scalarExpr(d.element!, e, g);
}

/**
 * Statements validating the value in variable `x` against `s` in output mode: `return FAIL` when rejected,
 * else `assign(output expression)`, or `absent` for an optional value that is absent. `node(s)` compiles
 * a node `compile.ts`'s way, for the shapes not inlined.
 */
export function emitOut(
  s: Schema,
  x: string,
  assign: (e: string) => string,
  absent: string,
  g: Gen,
  node: (s: Schema) => (v: unknown) => unknown,
): string {
  const d = s._zod.def;
  if (d.type === 'optional')
    return `if (${x} === undefined) { ${absent} } else { ${emitOut(d.innerType!, x, assign, absent, g, node)} }`;
  if (d.type === 'default')
    return `if (${x} === undefined) { ${assign(`${g.ref(d)}.defaultValue`)} } else { ${emitOut(d.innerType!, x, assign, absent, g, node)} }`;
  const scalar = scalarExpr(s, x, g);
  if (scalar !== undefined) return `if (!(${scalar})) return FAIL; ${assign(x)}`;
  const e = g.tmp();
  const i = g.tmp();
  const list = scalarList(s, e, g);
  // Every element passes unchanged: the list itself is the output (as compile.ts's array closure).
  if (list !== undefined)
    return `if (!Array.isArray(${x})) return FAIL; for (let ${i} = 0; ${i} < ${x}.length; ${i}++) { const ${e} = ${x}[${i}]; if (!(${list})) return FAIL; } ${assign(x)}`;
  const r = g.tmp();
  return `const ${r} = ${g.ref(node(s))}(${x}); if (${r} === FAIL) return FAIL; if (${r} === ABSENT) { ${absent} } else { ${assign(r)} }`;
}

/**
 * Statements checking the value in variable `x` against `s` in check mode, as a field of an object:
 * `return no` (default `NO`) when rejected (absent optional values pass). `check(s)` compiles a node in
 * check mode (returning NO, YES or GONE).
 */
export function emitCheck(
  s: Schema,
  x: string,
  g: Gen,
  check: (s: Schema) => (v: unknown) => number,
  no = 'NO',
): string {
  const d = s._zod.def;
  if (d.type === 'optional' || d.type === 'default')
    return `if (${x} !== undefined) { ${emitCheck(d.innerType!, x, g, check, no)} }`;
  const scalar = scalarExpr(s, x, g);
  if (scalar !== undefined) return `if (!(${scalar})) return ${no};`;
  const e = g.tmp();
  const i = g.tmp();
  const list = scalarList(s, e, g);
  if (list !== undefined)
    return `if (!Array.isArray(${x})) return ${no}; for (let ${i} = 0; ${i} < ${x}.length; ${i}++) { const ${e} = ${x}[${i}]; if (!(${list})) return ${no}; }`;
  return `if (${g.ref(check(s))}(${x}) === NO) return ${no};`;
}

/** Property names safe to put in generated code (the schema's own keys, never input). */
const SAFE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The statements rejecting (`return fail`) a non-object, or in a strict object a key not in `keys`. */
export function objectHead(keys: readonly string[], strict: boolean, fail: string): string {
  if (!keys.every((k) => SAFE_KEY.test(k))) throw new Unsupported('key');
  const lit = (k: string) => JSON.stringify(k);
  return [
    `if (v === null || typeof v !== "object" || Array.isArray(v)) return ${fail};`,
    strict
      ? `for (const k in v) { switch (k) { ${keys.map((k) => `case ${lit(k)}:`).join(' ')} continue; default: return ${fail}; } }`
      : '',
  ].join('\n');
}
