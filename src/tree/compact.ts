/**
 * The compact form in which a load worker hands a chunk of loaded ports to the main thread (see
 * `parallel.ts`). Copying whole `Port` objects between threads costs the receiver about as much as loading
 * them, so a worker sends per valid port only its recipe text, its content hash, its key mask, and the
 * fields planning reads for every port: `depends` (origins of the tree as job indices in one Int32Array,
 * other strings interned) and non-empty `options`. The main thread rebuilds each `Port` around a
 * {@link lazyRecipe}, which parses the text only if something reads another field of the recipe.
 */
import nodePath from 'node:path';
import type { Problem } from '../util/errors.js';
import { lazyEagerKeys, lazyRecipe, type Port, type PortParts } from '../recipe/light.js';
import type { LoadJob } from './parallel-state.js';
import { STAMP } from './walk.js';

/** One chunk of loaded jobs, `jobs[start .. start + count)`, in compact form. */
export interface PackedChunk {
  readonly start: number;
  readonly count: number;
  /** Per job: 0 when it gave no port (see `problems`), else 1 + 2 × its recipe's key mask. */
  readonly flags: Uint8Array;
  /** Recipe texts of the valid ports, in job order. */
  readonly texts: string[];
  /** Their content hashes (64 hex digits each), concatenated. */
  readonly hashes: string;
  /**
   * Per valid port: the lengths of depends.build, .run, .system, .system_run, then their entries. A build
   * or run entry ≥ 0 is a job index (that job's origin); < 0 is `-(1 + i)` for `strs[i]`. A system entry
   * is an index into `strs`.
   */
  readonly ints: Int32Array;
  /** Interned strings of this chunk. */
  readonly strs: string[];
  /** The valid ports' eager values (`lazyParts`) one after the other, each port's `depends` as null. */
  readonly values: unknown[];
  /** [index among the valid ports, recipe.name] for the ports that set a name. */
  readonly names: [number, string][];
  /** [job index within the chunk, problems] for the jobs that gave problems. */
  readonly problems: [number, Problem[]][];
  /** When asked for: each job's port.yaml stamp (`walk.ts`), STAMP numbers per job. */
  readonly stamps?: Float64Array;
}

/**
 * What {@link unpackChunk} also fills in, in job order, for the scan cache: each job's port.yaml stamp. A load with
 * extras gives each valid port as its parts ({@link JobLoad}), which the cache is written from.
 */
export interface LoadExtras {
  /** STAMP numbers per job. */
  readonly stamps: Float64Array;
}

/**
 * One job's load: its port (around a lazy recipe) or, when the load is for a scan that writes its cache, the port's
 * parts (which the cache is written from; the scan makes ports of them, or reads them back from the cache, after).
 */
export interface JobLoad {
  readonly port?: Port;
  readonly parts?: PortParts;
  readonly problems: Problem[];
}

/** The port made of a load's parts (its recipe a lazy one), in layer `layer`. */
export function portOfParts(parts: PortParts, layer: string): Port {
  return {
    origin: parts.origin,
    dir: parts.dir,
    path: parts.path,
    layer,
    pkgname: parts.pkgname,
    recipe: lazyRecipe(parts.text, parts.path, parts.origin, parts.mask, parts.values),
    contentHash: parts.contentHash,
  };
}

/** Packs the loads of `jobs[start ..]` (worker side). `jobIndex` maps an origin to its job index. */
export function packChunk(
  start: number,
  loads: readonly { parts?: PortParts; problems: Problem[] }[],
  jobIndex: ReadonlyMap<string, number>,
  stamps?: Float64Array,
): PackedChunk {
  const flags = new Uint8Array(loads.length);
  const texts: string[] = [];
  let hashes = '';
  const ints: number[] = [];
  const strs: string[] = [];
  const strIndex = new Map<string, number>();
  const intern = (s: string): number => {
    let i = strIndex.get(s);
    if (i === undefined) {
      i = strs.length;
      strs.push(s);
      strIndex.set(s, i);
    }
    return i;
  };
  const values: unknown[] = [];
  const names: [number, string][] = [];
  const problems: [number, Problem[]][] = [];
  loads.forEach((l, k) => {
    if (l.problems.length > 0) problems.push([k, l.problems]);
    const parts = l.parts;
    if (!parts) return;
    flags[k] = 1 + 2 * parts.mask;
    const di = lazyEagerKeys(parts.mask).indexOf('depends');
    parts.values.forEach((x, i) => values.push(i === di ? null : x));
    const v = texts.length;
    texts.push(parts.text);
    hashes += parts.contentHash;
    const d = parts.depends;
    ints.push(d.build.length, d.run.length, d.system.length, d.system_run.length);
    for (const o of d.build) ints.push(jobIndex.get(o) ?? -(1 + intern(o)));
    for (const o of d.run) ints.push(jobIndex.get(o) ?? -(1 + intern(o)));
    for (const s of d.system) ints.push(intern(s));
    for (const s of d.system_run) ints.push(intern(s));
    if (parts.name !== undefined) names.push([v, parts.name]);
  });
  return {
    start,
    count: loads.length,
    flags,
    texts,
    hashes,
    ints: Int32Array.from(ints),
    strs,
    values,
    names,
    problems,
    ...(stamps ? { stamps } : {}),
  };
}

/**
 * Unpacks a chunk into `results` (main side): lazy-recipe ports (with `extras`: their parts) for the valid jobs,
 * problems for the others.
 */
export function unpackChunk(
  c: PackedChunk,
  jobs: readonly LoadJob[],
  results: (JobLoad | undefined)[],
  extras?: LoadExtras,
): void {
  if (extras && c.stamps) extras.stamps.set(c.stamps, STAMP * c.start);
  const names = new Map(c.names);
  const problems = new Map(c.problems);
  const origin = (ref: number): string => (ref >= 0 ? jobs[ref]!.origin : c.strs[-1 - ref]!);
  let v = 0;
  let p = 0;
  let x = 0;
  const ints = c.ints;
  for (let k = 0; k < c.count; k++) {
    const job = jobs[c.start + k]!;
    const flag = c.flags[k]!;
    if (flag === 0) {
      results[c.start + k] = { problems: problems.get(k) ?? [] };
      continue;
    }
    const nb = ints[p]!,
      nr = ints[p + 1]!,
      ns = ints[p + 2]!,
      nsr = ints[p + 3]!;
    p += 4;
    const build = new Array<string>(nb);
    for (let i = 0; i < nb; i++) build[i] = origin(ints[p++]!);
    const run = new Array<string>(nr);
    for (let i = 0; i < nr; i++) run[i] = origin(ints[p++]!);
    const system = new Array<string>(ns);
    for (let i = 0; i < ns; i++) system[i] = c.strs[ints[p++]!]!;
    const systemRun = new Array<string>(nsr);
    for (let i = 0; i < nsr; i++) systemRun[i] = c.strs[ints[p++]!]!;
    const dir = nodePath.isAbsolute(job.dir) ? job.dir : nodePath.resolve(job.dir);
    const path = `${dir}${nodePath.sep}port.yaml`;
    const mask = (flag - 1) >> 1;
    const eager = lazyEagerKeys(mask);
    const vals = c.values.slice(x, x + eager.length);
    x += eager.length;
    const depends = { build, run, system, system_run: systemRun };
    vals[eager.indexOf('depends')] = depends;
    const name = names.get(v);
    const parts: PortParts = {
      origin: job.origin,
      dir,
      path,
      pkgname: name ?? job.origin.slice(job.origin.indexOf('/') + 1),
      contentHash: c.hashes.slice(64 * v, 64 * v + 64),
      text: c.texts[v]!,
      mask,
      values: vals,
      depends,
      ...(name !== undefined ? { name } : {}),
    };
    const ps = problems.get(k) ?? [];
    results[c.start + k] = extras ? { parts, problems: ps } : { port: portOfParts(parts, job.layer), problems: ps };
    v++;
  }
}
