/**
 * Build identities: a sha256 per port over everything that can change its package (kiln's packaging format,
 * the recipe and patch bytes, the chosen options, the identities of its build and run dependencies, the
 * jail). The components are kept beside the hash so a plan can say what changed. Pure.
 */
import { createHash } from 'node:crypto';
import type { Dag } from '../graph/index.js';
import { topoOrder } from '../graph/index.js';
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
  /** Identity hash of each `depends.build` port, keyed by origin, keys sorted. */
  readonly build: Readonly<Record<string, string>>;
  /** Identity hash of each `depends.run` port, keyed by origin, keys sorted. */
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
}

/** The identity hash of a set of components (the canonical, order-independent form). */
export function identityHash(c: IdentityComponents): string {
  const h = createHash('sha256');
  h.update(`kiln-identity\0format=${c.format}\0recipe=${c.recipe}\0jail=${c.jail}\0options=`);
  for (const k of Object.keys(c.options).sort()) h.update(`${k}=${c.options[k] ? 'on' : 'off'};`);
  h.update('\0build=');
  for (const k of Object.keys(c.build).sort()) h.update(`${k}=${c.build[k]};`);
  h.update('\0run=');
  for (const k of Object.keys(c.run).sort()) h.update(`${k}=${c.run[k]};`);
  return h.digest('hex');
}

function sortedRecord<V>(entries: [string, V][]): Record<string, V> {
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return Object.fromEntries(entries);
}

/** The recipe's declared options at their defaults, overridden by `chosen`. */
function optionsOf(port: Port, chosen: Readonly<Record<string, boolean>> | undefined): Record<string, boolean> {
  const names = Object.keys(port.recipe.options);
  if (names.length === 0) return {};
  return sortedRecord(names.map((k) => [k, chosen?.[k] ?? port.recipe.options[k]!.default]));
}

/**
 * The identity of every node of `dag` whose dependencies can be ordered: a port on a dependency cycle, or
 * depending on one, has none (it is skipped). Dependencies outside `dag` (missing from the tree) do not
 * enter the hash; such ports are skipped by the plan anyway.
 */
export function computeIdentities(input: IdentityInput): Map<string, Identity> {
  const { dag, ports } = input;
  const format = input.format ?? FORMAT_VERSION;
  const result = new Map<string, Identity>();
  for (const v of topoOrder(dag)) {
    const origin = dag.ids[v]!;
    const port = ports.get(origin);
    if (!port) continue;
    const depIds = (list: readonly string[]): Record<string, string> => {
      const entries: [string, string][] = [];
      const seen = new Set<string>();
      for (const d of list) {
        const id = result.get(d);
        if (id && !seen.has(d)) {
          seen.add(d);
          entries.push([d, id.hash]);
        }
      }
      return sortedRecord(entries);
    };
    const components: IdentityComponents = {
      format,
      recipe: port.contentHash,
      options: optionsOf(port, input.options?.get(origin)),
      build: depIds(port.recipe.depends.build),
      run: depIds(port.recipe.depends.run),
      jail: input.jail,
    };
    result.set(origin, { hash: identityHash(components), components });
  }
  return result;
}

/** A stand-in jail identity for `bulk -n` against a jail that does not exist yet, derived from its name. */
export function placeholderJailIdentity(name: string): string {
  return createHash('sha256').update(`kiln-jail-placeholder\0${name}`).digest('hex');
}
