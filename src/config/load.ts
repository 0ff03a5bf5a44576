/**
 * Loading `--home/kiln.yaml` and describing the effective settings. A missing file means every default;
 * an invalid one is an {@link InputError} (`KILN_E_CONFIG`) carrying every located problem.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError, KilnError } from '../util/errors.js';
import { decodeUtf8, validateYaml } from '../util/yamlpos.js';
import { ConfigSchema, type Config } from './schema.js';

/** The config file's path under `home`. */
export function configPath(home: string): string {
  return path.join(home, 'kiln.yaml');
}

/** Freezes an object graph (the config is read-only once loaded). */
function deepFreeze<T>(v: T): Readonly<T> {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

/** Every setting at its default. */
export function defaultConfig(): Readonly<Config> {
  return deepFreeze(ConfigSchema.parse({}));
}

/** Validates kiln.yaml text (`file` names it in problems); throws {@link InputError} KILN_E_CONFIG. */
export function parseConfig(text: string | Buffer, file: string): Readonly<Config> {
  let source: string;
  if (typeof text === 'string') source = text;
  else {
    const dec = decodeUtf8(text, file);
    if (dec.text === undefined) throw new InputError('KILN_E_CONFIG', [dec.problem!], 'save kiln.yaml as UTF-8 text');
    source = dec.text;
  }
  const { value, problems } = validateYaml(ConfigSchema, source, file, { allowEmpty: true });
  if (problems.length > 0 || value === undefined) {
    throw new InputError(
      'KILN_E_CONFIG',
      problems,
      'fix kiln.yaml; `kiln config` lists every setting, its default and its meaning',
    );
  }
  return deepFreeze(value);
}

/** Loads `home/kiln.yaml`: every default when it does not exist. */
export function loadConfig(home: string): Readonly<Config> {
  const file = configPath(home);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return defaultConfig();
    throw new KilnError('KILN_E_CONFIG', `cannot read ${file}: ${(e as Error).message}`, {
      hint: 'check the file and its permissions',
      cause: e,
    });
  }
  return parseConfig(bytes, file);
}

/** One setting as `kiln config` prints it. */
export interface ConfigRow {
  /** Dotted key (`limits.wall_s`). */
  readonly key: string;
  /** Effective value (undefined: unset). */
  readonly value: unknown;
  /** Default value (undefined: unset by default). */
  readonly default: unknown;
  /** What the setting means. */
  readonly doc: string;
}

interface Def {
  type: string;
  shape?: Record<string, Walkable>;
  innerType?: Walkable;
}
interface Walkable {
  _zod: { def: Def };
  description?: string;
}

/** The object schema inside optional/default wrappers, or undefined for a leaf. */
function objectOf(s: Walkable): Walkable | undefined {
  for (let cur: Walkable | undefined = s, i = 0; cur && i < 10; i++) {
    const d: Def = cur._zod.def;
    if (d.type === 'object') return cur;
    cur = d.type === 'optional' || d.type === 'default' || d.type === 'nullable' ? d.innerType : undefined;
  }
  return undefined;
}

/** Every leaf setting of `cfg`, in schema order, with its default and meaning (from the schema). Pure. */
export function describeConfig(cfg: Readonly<Config>): ConfigRow[] {
  const defaults = ConfigSchema.parse({}) as Record<string, unknown>;
  const rows: ConfigRow[] = [];
  const walk = (schema: Walkable, prefix: string, value: unknown, def: unknown) => {
    const obj = objectOf(schema)!;
    for (const [k, child] of Object.entries(obj._zod.def.shape ?? {})) {
      const v = (value as Record<string, unknown> | undefined)?.[k];
      const d = (def as Record<string, unknown> | undefined)?.[k];
      const inner = objectOf(child);
      const key = prefix === '' ? k : `${prefix}.${k}`;
      if (inner && Object.keys(inner._zod.def.shape ?? {}).length > 0) walk(child, key, v, d);
      else rows.push({ key, value: v, default: d, doc: child.description ?? '' });
    }
  };
  walk(ConfigSchema as unknown as Walkable, '', cfg, defaults);
  return rows;
}
