/**
 * Build identities: a sha256 per port over everything that can change its package (kiln's packaging format,
 * the recipe and patch bytes, the chosen options, the identities of its build and run dependencies, the
 * jail). The components are kept beside the hash so a plan can say what changed. Pure.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import type { Dag } from '../graph/index.js';
import { portDepends, portOptionDefaults, portsOfNodes, topoOrder } from '../graph/index.js';
import type { Port } from '../recipe/types.js';

/**
 * Version of kiln's packaging format: bump it when what kiln puts in a `.deb` changes (control fields,
 * layout, compression), so that every package is rebuilt once.
 */
export const FORMAT_VERSION = 1;

/** What a build identity is made of. Stored with each built package so later plans can explain changes. */
export interface IdentityComponents {
  /** {@link FORMAT_VERSION} when the identity was computed. */
  readonly format: number;
  /** The port's `contentHash` (recipe bytes, then each patch's name and bytes). */
  readonly recipe: string;
  /** Effective options (every declared option, chosen or default), keys sorted. */
  readonly options: Readonly<Record<string, boolean>>;
  /**
   * Identity hash of each `depends.build` port, keyed by origin, keys sorted. With the ABI check on, a
   * dependency with a known ABI is here as `abi:HASH` instead (see {@link IdentityInput.abi}).
   */
  readonly build: Readonly<Record<string, string>>;
  /** Identity hash (or `abi:HASH`) of each `depends.run` port, keyed by origin, keys sorted. */
  readonly run: Readonly<Record<string, string>>;
  /** The jail's identity (release, arch, package set). */
  readonly jail: string;
}

/** A port's build identity: the hash and what it was computed from. */
export interface Identity {
  /** sha256 hex of the canonical form of {@link components}. */
  readonly hash: string;
  /** The inputs of the hash. */
  readonly components: IdentityComponents;
}

/** Input of {@link computeIdentities}. */
export interface IdentityInput {
  /** The graph of the ports to identify (from `buildDag`). */
  readonly dag: Dag;
  /** The ports by origin (at least every node of `dag`). */
  readonly ports: ReadonlyMap<string, Port>;
  /**
   * Effective options per origin (from the recipe module's `effectiveOptions`); an origin without an
   * entry uses its recipe's defaults.
   */
  readonly options?: ReadonlyMap<string, Readonly<Record<string, boolean>>>;
  /** The jail's identity (or a placeholder for a dry run against a jail not made yet). */
  readonly jail: string;
  /** Override of {@link FORMAT_VERSION} (tests, and plans that explain a format change). */
  readonly format?: number;
  /**
   * The ABI check: origin → ABI hash of its package (from `BuiltRecord.abi`, see `abiMapOf`). A dependency with
   * an entry enters its dependents' identities as `abi:HASH` instead of its own identity, so rebuilding it with
   * the same ABI leaves them unchanged. Without entries the identities are the same as without the check.
   */
  readonly abi?: ReadonlyMap<string, string>;
}

/** What a dependency with ABI hash `abi` contributes to its dependents' identities under the ABI check. */
export function abiContribution(abi: string): string {
  return `abi:${abi}`;
}

/**
 * The canonical text hashed into an identity: format, recipe hash, jail, the options sorted by name, the
 * number of dependencies, then the identity of every build or run dependency in the tree, each once,
 * ordered by origin. The origins themselves and which are build or run are in the recipe bytes (its
 * hash), so the text carries only their identities (short strings hash much faster).
 */
function canonicalHead(
  format: number,
  recipe: string,
  jail: string,
  options: Readonly<Record<string, boolean>>,
  deps: number,
): string {
  return `kiln-identity\0format=${format}\0recipe=${recipe}\0jail=${jail}\0options=${optionsText(options)}\0deps=${deps}:`;
}

/** `NAME=on;NAME=off;…` sorted by name ('' for none). */
function optionsText(options: Readonly<Record<string, boolean>>): string {
  if (options === EMPTY_OPTIONS) return '';
  let t = '';
  for (const k of Object.keys(options).sort()) t += `${k}=${options[k] ? 'on' : 'off'};`;
  return t;
}

function sha256(text: string): string {
  return oneShotHash('sha256', text, 'hex');
}

/** The identity hash of a set of components (the same canonical form {@link computeIdentities} hashes). */
export function identityHash(c: IdentityComponents): string {
  const deps = new Map<string, string>();
  for (const rec of [c.build, c.run]) for (const k of Object.keys(rec)) deps.set(k, rec[k]!);
  let t = canonicalHead(c.format, c.recipe, c.jail, c.options, deps.size);
  for (const k of [...deps.keys()].sort()) t += deps.get(k)!;
  return sha256(t);
}

/** The recipe's declared options at their defaults, overridden by `chosen`; keys sorted. */
function optionsOf(port: Port, chosen: Readonly<Record<string, boolean>> | undefined): Record<string, boolean> {
  const declared = portOptionDefaults(port);
  let any = false;
  for (const _ in declared) {
    any = true;
    break;
  }
  if (!any) return EMPTY_OPTIONS;
  const names = Object.keys(declared);
  const out: Record<string, boolean> = {};
  for (const k of names.sort()) out[k] = chosen?.[k] ?? declared[k]!;
  return out;
}

const EMPTY_OPTIONS: Record<string, boolean> = Object.freeze({}) as Record<string, boolean>;

/** What the identities of one `computeIdentities` call share: node hashes, and origin → hash on demand. */
interface Shared {
  readonly format: number;
  readonly jail: string;
  readonly ids: readonly string[];
  readonly hashes: (string | undefined)[];
  /** What each node contributes to its dependents (its hash, or `abi:HASH` under the ABI check). */
  readonly contrib: (string | undefined)[];
  byOrigin?: Map<string, string>;
  /** Computes every hash, once (see {@link computeIdentities}). */
  readonly ensure: () => void;
}

function contribOf(shared: Shared, origin: string): string | undefined {
  shared.ensure();
  if (!shared.byOrigin) {
    const m = new Map<string, string>();
    shared.ids.forEach((o, i) => {
      const h = shared.contrib[i];
      if (h !== undefined) m.set(o, h);
    });
    shared.byOrigin = m;
  }
  return shared.byOrigin.get(origin);
}

/** An identity whose hash and components are computed only when asked for (a first plan compares none). */
class ComputedIdentity implements Identity {
  private made: IdentityComponents | undefined;
  constructor(
    private readonly node: number,
    private readonly port: Port,
    private readonly options: Record<string, boolean>,
    private readonly shared: Shared,
  ) {}

  get hash(): string {
    this.shared.ensure();
    return this.shared.hashes[this.node]!;
  }

  get components(): IdentityComponents {
    if (!this.made) {
      const record = (list: readonly string[]): Record<string, string> => {
        const out: Record<string, string> = {};
        for (const d of [...list].sort()) {
          const h = contribOf(this.shared, d);
          if (h !== undefined) out[d] = h;
        }
        return out;
      };
      const depends = portDepends(this.port);
      this.made = {
        format: this.shared.format,
        recipe: this.port.contentHash,
        options: this.options,
        build: record(depends.build),
        run: record(depends.run),
        jail: this.shared.jail,
      };
    }
    return this.made;
  }

  /** Plain data (for JSON and storage). */
  toJSON(): Identity {
    return { hash: this.hash, components: this.components };
  }
}

/**
 * The identity of every node of `dag` whose dependencies can be ordered: a port on a dependency cycle, or
 * depending on one, has none (it is skipped). Dependencies outside `dag` (missing from the tree) do not
 * enter the hash; such ports are skipped by the plan anyway. Which ports have an identity is decided
 * here; the hashes are computed, all in one pass in dependency order, when the first one is read (a plan
 * against nothing built reads none), and the components of each when they are read.
 */
export function computeIdentities(input: IdentityInput): Map<string, Identity> {
  const { dag, ports, jail } = input;
  const ids = dag.ids;
  const hashes = new Array<string | undefined>(ids.length);
  const abi = input.abi !== undefined && input.abi.size > 0 ? input.abi : undefined;
  const order = topoOrder(dag);
  const nodes = portsOfNodes(dag, ports);
  const result = new Map<string, Identity>();
  const noChoices = input.options === undefined || input.options.size === 0;
  const optionsOfNode = new Array<Record<string, boolean> | undefined>(ids.length);
  let done = false;
  const shared: Shared = {
    format: input.format ?? FORMAT_VERSION,
    jail,
    ids,
    hashes,
    contrib: abi ? new Array(ids.length) : hashes,
    ensure: () => {
      if (done) return;
      done = true;
      hashAll(shared, order, dag, nodes, optionsOfNode, abi);
    },
  };
  for (const v of order) {
    const origin = ids[v]!;
    const port = nodes[v];
    if (!port) continue;
    const options = optionsOf(port, noChoices ? undefined : input.options!.get(origin));
    optionsOfNode[v] = options;
    result.set(origin, new ComputedIdentity(v, port, options, shared));
  }
  return result;
}

/** Every node's hash (and contribution), in dependency order: the canonical text of each, hashed. */
function hashAll(
  shared: Shared,
  order: readonly number[],
  dag: Dag,
  nodes: readonly (Port | undefined)[],
  optionsOfNode: readonly (Record<string, boolean> | undefined)[],
  abi: ReadonlyMap<string, string> | undefined,
): void {
  const ids = shared.ids;
  let idsSorted = true;
  for (let i = 1; i < ids.length && idsSorted; i++) idsSorted = ids[i - 1]! < ids[i]!;
  const before = (a: number, b: number): boolean => (idsSorted ? a < b : ids[a]! < ids[b]!);
  const tmp: number[] = [];
  // The same text as canonicalHead, with the per-call parts made once.
  const head = `kiln-identity\0format=${shared.format}\0recipe=`;
  const jailPart = `\0jail=${shared.jail}\0options=`;
  for (const v of order) {
    const options = optionsOfNode[v];
    if (options === undefined) continue;
    const port = nodes[v]!;
    // Insertion sort of the (few) dependencies by origin.
    const deps = dag.deps[v]!;
    tmp.length = 0;
    for (const d of deps) {
      let k = tmp.length;
      tmp.push(d);
      while (k > 0 && before(d, tmp[k - 1]!)) {
        tmp[k] = tmp[k - 1]!;
        k--;
      }
      tmp[k] = d;
    }
    let text = `${head}${port.contentHash}${jailPart}${optionsText(options)}\0deps=${tmp.length}:`;
    for (const d of tmp) text += shared.contrib[d]!;
    const hash = sha256(text);
    shared.hashes[v] = hash;
    if (abi) {
      const a = abi.get(ids[v]!);
      shared.contrib[v] = a === undefined ? hash : abiContribution(a);
    }
  }
}

/** A stand-in jail identity for `bulk -n` against a jail that does not exist yet, derived from its name. */
export function placeholderJailIdentity(name: string): string {
  return createHash('sha256').update(`kiln-jail-placeholder\0${name}`).digest('hex');
}
