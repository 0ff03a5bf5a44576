/**
 * A fast validator compiled from a zod schema's definition, for the valid-recipe fast path. It accepts a
 * value only when zod would (it runs zod's own check objects) and then returns the same output (defaults
 * filled the way zod fills them); for anything it is not sure about it answers {@link FAIL}, and the
 * caller falls back to zod itself. zod stays the single source of truth: this only skips its generic
 * machinery (payloads, contexts) on the hot path. The fuzz test checks the equivalence. Objects are
 * generated code (`compile-gen.ts`) with their common fields checked inline.
 */
import {
  type Check,
  type Def,
  type Schema,
  Gen,
  Unsupported,
  classify,
  emitCheck,
  emitOut,
  objectHead,
  viaZod,
} from './compile-gen.js';

/** "Not accepted here": let zod decide (and explain). */
export const FAIL: unique symbol = Symbol('fail');
/** An optional key that is absent: omitted from the output, as zod does. */
const ABSENT: unique symbol = Symbol('absent');

type Out = unknown;
/** A compiled node: the output value, FAIL, or ABSENT (optional and undefined). */
type Fn = (v: unknown) => Out;

/**
 * A check as a plain predicate, for the common kinds whose meaning is fixed by their parameters
 * ({@link classify}); undefined for any other kind (a refinement, a URL...), which then runs through zod's
 * check object.
 */
function direct(c: Check): ((v: unknown) => boolean) | undefined {
  const p = classify(c);
  if (p === undefined) return undefined;
  switch (p.kind) {
    case 'regex': {
      const re = p.re;
      return (v) => {
        re.lastIndex = 0;
        return re.test(v as string);
      };
    }
    case 'min_length': {
      const min = p.min;
      return (v) =>
        typeof v !== 'string' && !Array.isArray(v) ? CHECK_VIA_ZOD : (v as string | unknown[]).length >= min;
    }
    case 'safeint':
      return (v) => Number.isSafeInteger(v);
    case 'bound': {
      const bound = p.bound;
      const incl = p.inclusive;
      return p.above
        ? (v) => typeof v === 'number' && (incl ? v >= bound : v > bound)
        : (v) => typeof v === 'number' && (incl ? v <= bound : v < bound);
    }
  }
}

/** Returned by a direct predicate for a value it was not written for: run zod's check object instead. */
const CHECK_VIA_ZOD = 'via-zod' as unknown as boolean;

/** Runs zod's checks on a value (the common kinds as plain predicates); true when none adds an issue. */
function checker(checks: readonly Check[] | undefined): ((v: unknown) => boolean) | undefined {
  if (!checks || checks.length === 0) return undefined;
  for (const c of checks) {
    if (c._zod.def.check === 'overwrite') throw new Unsupported('check');
  }
  const fns = checks.map((c) => {
    const f = direct(c);
    if (f === undefined) return (v: unknown) => viaZod(c, v);
    return (v: unknown) => {
      const r = f(v);
      return r === CHECK_VIA_ZOD ? viaZod(c, v) : r;
    };
  });
  if (fns.length === 1) return fns[0];
  return (value) => {
    for (const f of fns) if (!f(value)) return false;
    return true;
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Compiles one schema node. */
function compileNode(s: Schema): Fn {
  const d = s._zod.def;
  const checks = checker(d.checks);
  switch (d.type) {
    case 'string':
      if (d.format !== undefined) throw new Unsupported('string format node');
      return checks
        ? (v) => (typeof v === 'string' && checks(v) ? v : FAIL)
        : (v) => (typeof v === 'string' ? v : FAIL);
    case 'number':
      return (v) => (typeof v === 'number' && Number.isFinite(v) && (!checks || checks(v)) ? v : FAIL);
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : FAIL);
    case 'enum': {
      const values = new Set(Object.values(d.entries ?? {}));
      return (v) => (typeof v === 'string' && values.has(v) ? v : FAIL);
    }
    case 'literal': {
      const values = d.values ?? [];
      return (v) => (values.includes(v) ? v : FAIL);
    }
    case 'optional': {
      const inner = compileNode(d.innerType!);
      return (v) => (v === undefined ? ABSENT : inner(v));
    }
    case 'default': {
      const inner = compileNode(d.innerType!);
      return (v) => (v === undefined ? d.defaultValue : inner(v)); // zod returns the default as is (a shallow copy)
    }
    case 'array':
      return compileArray(d, checks);
    case 'record':
      return compileRecord(d, checks);
    case 'union': {
      const opts = (d.options ?? []).map(compileNode);
      return (v) => {
        for (const o of opts) {
          const r = o(v);
          if (r !== FAIL) return r;
        }
        return FAIL;
      };
    }
    case 'object':
      return compileObject(d, checks);
    default:
      throw new Unsupported(d.type);
  }
}

/** An array node: the element compiled, the array's own checks. */
function compileArray(d: Def, checks: ((v: unknown) => boolean) | undefined): Fn {
  const el = compileNode(d.element!);
  // The caller's value is a fresh parse nobody else holds: when every element comes out as it went in
  // (strings, numbers), the array itself is the output, as zod's copy would equal it.
  return (v) => {
    if (!Array.isArray(v)) return FAIL;
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      const r = el(x);
      if (r === FAIL || r === ABSENT) return FAIL;
      if (r !== x && out === undefined) out = v.slice(0, i);
      if (out !== undefined) out[i] = r;
    }
    const res = out ?? v;
    return checks && !checks(res) ? FAIL : res;
  };
}

/** A record node: keys and values compiled, the record's own checks. */
function compileRecord(d: Def, checks: ((v: unknown) => boolean) | undefined): Fn {
  const key = compileNode(d.keyType!);
  const val = compileNode(d.valueType!);
  return (v) => {
    if (!isPlainObject(v)) return FAIL;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      if (key(k) !== k) return FAIL;
      const r = val(v[k]);
      if (r === FAIL || r === ABSENT) return FAIL;
      out[k] = r;
    }
    return checks && !checks(out) ? FAIL : out;
  };
}

/**
 * An object node as generated code: literal property names keep each object's property accesses
 * monomorphic (as zod's own JIT does), the common fields are checked inline, the rest call their closures.
 */
function compileObject(d: Def, checks: ((v: unknown) => boolean) | undefined): Fn {
  const strict = d.catchall !== undefined && d.catchall._zod.def.type === 'never';
  if (d.catchall !== undefined && !strict) throw new Unsupported('catchall');
  const shape = d.shape ?? {};
  const keys = Object.keys(shape);
  const g = new Gen();
  const lit = (k: string) => JSON.stringify(k);
  const body = [
    objectHead(keys, strict, 'FAIL'),
    'const out = {};',
    ...keys.map((k) => {
      const x = g.tmp();
      return `const ${x} = v[${lit(k)}]; ${emitOut(shape[k]!, x, (e) => `out[${lit(k)}] = ${e};`, '', g, compileNode)}`;
    }),
    `return ${checks === undefined ? 'out' : `!${g.ref(checks)}(out) ? FAIL : out`};`,
  ].join('\n');
  return g.make(body, { FAIL, ABSENT });
}

/** A check-mode result: rejected, accepted, or an optional value that is absent (as {@link ABSENT}). */
const NO = 0,
  YES = 1,
  GONE = 2;
type Check3 = (v: unknown) => number;

/** Check mode through the output mode (for nodes whose checks need the output value). */
function viaOutput(s: Schema): Check3 {
  const f = compileNode(s);
  return (v) => {
    const r = f(v);
    return r === FAIL ? NO : r === ABSENT ? GONE : YES;
  };
}

/**
 * Compiles one schema node in check mode: the same verdict as {@link compileNode} (FAIL ↔ NO, ABSENT ↔
 * GONE) without building the output (no objects, no copies of defaults).
 */
function compileCheck(s: Schema): Check3 {
  const d = s._zod.def;
  switch (d.type) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'enum':
    case 'literal':
      return viaOutput(s); // scalars: the output is the input, nothing is allocated
    case 'optional': {
      const inner = compileCheck(d.innerType!);
      return (v) => (v === undefined ? GONE : inner(v));
    }
    case 'default': {
      const inner = compileCheck(d.innerType!);
      return (v) => (v === undefined ? YES : inner(v));
    }
    case 'array': {
      if (d.checks && d.checks.length > 0) return viaOutput(s);
      const el = compileCheck(d.element!);
      return (v) => {
        if (!Array.isArray(v)) return NO;
        for (let i = 0; i < v.length; i++) if (el(v[i]) !== YES) return NO;
        return YES;
      };
    }
    case 'record': {
      if (d.checks && d.checks.length > 0) return viaOutput(s);
      const key = compileNode(d.keyType!);
      const val = compileCheck(d.valueType!);
      return (v) => {
        if (!isPlainObject(v)) return NO;
        for (const k of Object.keys(v)) if (key(k) !== k || val(v[k]) !== YES) return NO;
        return YES;
      };
    }
    case 'union': {
      const opts = (d.options ?? []).map(compileCheck);
      return (v) => {
        for (const o of opts) {
          const r = o(v);
          if (r !== NO) return r;
        }
        return NO;
      };
    }
    case 'object':
      return d.checks && d.checks.length > 0 ? viaOutput(s) : compileObjectCheck(d);
    default:
      throw new Unsupported(d.type);
  }
}

/** An object node (without checks of its own) in check mode, as generated code. */
function compileObjectCheck(d: Def): Check3 {
  const strict = d.catchall !== undefined && d.catchall._zod.def.type === 'never';
  if (d.catchall !== undefined && !strict) throw new Unsupported('catchall');
  const shape = d.shape ?? {};
  const keys = Object.keys(shape);
  const g = new Gen();
  const body = [
    objectHead(keys, strict, 'NO'),
    ...keys.map((k) => {
      const x = g.tmp();
      return `const ${x} = v[${JSON.stringify(k)}]; ${emitCheck(shape[k]!, x, g, compileCheck)}`;
    }),
    'return YES;',
  ].join('\n');
  return g.make(body, { NO, YES }) as Check3;
}

/** Options of {@link compileSchema}. */
export interface CompileOptions {
  /**
   * Top-level keys (of an object schema) to validate without output: they are checked exactly as zod
   * would, but left out of the result (a caller that parses them again later, on demand, skips building them).
   */
  readonly checkOnly?: readonly string[];
}

/**
 * Compiles `schema` into a function returning zod's output for a value zod accepts, or {@link FAIL}.
 * The output may share arrays with the input (an array whose elements all pass unchanged is not copied):
 * give it a value nobody else holds, such as a fresh parse. With `checkOnly`, those top-level keys are
 * validated but absent from the output. Returns undefined when the schema uses a construct the compiler
 * does not know (then use zod only).
 */
export function compileSchema(schema: unknown, opts: CompileOptions = {}): ((v: unknown) => unknown) | undefined {
  try {
    const checkOnly = opts.checkOnly ?? [];
    let fn: Fn;
    if (checkOnly.length === 0) fn = compileNode(schema as Schema);
    else {
      const d = (schema as Schema)._zod.def;
      if (d.type !== 'object' || (d.checks && d.checks.length > 0))
        throw new Unsupported('checkOnly needs a plain object schema');
      const shape = d.shape ?? {};
      const outShape: Record<string, Schema> = {};
      for (const k of Object.keys(shape)) if (!checkOnly.includes(k)) outShape[k] = shape[k]!;
      // The other keys through the output compiler (a strict object of them), the checked ones beside it.
      const rest = compileNode({ _zod: { def: { ...d, shape: outShape, catchall: undefined } } });
      const strict = d.catchall !== undefined && d.catchall._zod.def.type === 'never';
      if (d.catchall !== undefined && !strict) throw new Unsupported('catchall');
      // One generated function: the strict key check, the checked keys inline (or through their check
      // closures), then the output of the others.
      const g = new Gen();
      const body = [
        objectHead(Object.keys(shape), strict, 'FAIL'),
        ...checkOnly
          .filter((k) => k in shape)
          .map((k) => {
            const x = g.tmp();
            return `const ${x} = v[${JSON.stringify(k)}]; ${emitCheck(shape[k]!, x, g, compileCheck, 'FAIL')}`;
          }),
        `return ${g.ref(rest)}(v);`,
      ].join('\n');
      fn = g.make(body, { FAIL, NO });
    }
    return (v) => {
      const r = fn(v);
      return r === ABSENT ? FAIL : r;
    };
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}
