/** Types of the plan: what a finished build records, what the planner takes, what it decides. */
import type { CycleGroup, Dag, MissingDep } from '../graph/index.js';
import type { Port } from '../recipe/types.js';
import type { Identity, IdentityComponents } from './identity.js';

/**
 * What a finished build of one port records (in the store, per jail and tree), so the next bulk can keep
 * it when its identity is unchanged, explain why not otherwise, and find its files in the repository.
 */
export interface BuiltRecord {
  /** `CATEGORY/NAME`. */
  readonly origin: string;
  /** The .deb's Package: name. */
  readonly pkgname: string;
  /** The .deb's Version: (`VERSION-kREVISION`). */
  readonly version: string;
  /** The .deb's Architecture: (`amd64`, `all`, …). */
  readonly arch: string;
  /** The build identity hash the package was built with. */
  readonly identity: string;
  /** What that identity was computed from (to explain a later change). */
  readonly components: IdentityComponents;
  /** The package files, relative to the repository root (`pool/…/name_version_arch.deb`). */
  readonly files: readonly string[];
  /** When the build finished (ISO 8601). */
  readonly built: string;
  /** How long the build took, seconds (learned durations feed the scheduler). */
  readonly durationS?: number;
  /**
   * Hash of the package's exported ABI (shared-library symbols), for the ABI check: when a rebuilt
   * dependency's ABI is unchanged, its dependents need not be rebuilt.
   */
  readonly abi?: string;
}

/** The one-builder start order: node ids of `dag`, dependencies first. The scheduler provides the real one. */
export type OrderFn = (dag: Dag, durations: ArrayLike<number>) => number[];

/** Input of `makePlan`. */
export interface PlanInput {
  /** The selected ports (the closure of the requested roots). */
  readonly dag: Dag;
  /** Every port of the tree, selected or not (to tell "left the tree" from "not in the list"). */
  readonly ports: ReadonlyMap<string, Port>;
  /** Build identities (from `computeIdentities`); ports without one are skipped. */
  readonly identities: ReadonlyMap<string, Identity>;
  /** What is built already, by origin (empty until packages exist). */
  readonly built: ReadonlyMap<string, BuiltRecord>;
  /** Origins to rebuild even when unchanged (`-C`). */
  readonly force?: ReadonlySet<string>;
  /** Keep packages whose port left the tree or the list (`--keep-stale`) instead of deleting them. */
  readonly keepStale?: boolean;
  /**
   * Origins named on the command line: they add to the repository and never remove from it, so every other
   * package is kept (reason `not requested, kept`), as with `keepStale`. Stale removal is for `-f LIST` and `-a`.
   */
  readonly additive?: boolean;
  /** Missing dependencies and requested roots not in the tree (from `closure`). */
  readonly missing?: readonly MissingDep[];
  /** The cyclic components of `dag` if the caller has them already (from `cycleGroups`); else computed. */
  readonly cycles?: readonly CycleGroup[];
  /** Origins whose recipe is invalid (not in `ports`): named as such in skip reasons, never deleted. */
  readonly invalid?: ReadonlySet<string>;
  /** True for `-a`: every invalid recipe of the tree is listed in `skip`. */
  readonly all?: boolean;
  /** Expected build seconds per origin (default {@link DEFAULT_DURATION_S}). */
  readonly durations?: ReadonlyMap<string, number>;
  /** The one-builder order to list `build` in (default: the scheduler's). */
  readonly order?: OrderFn;
  /**
   * The ABI check (opt-in): `identities` were computed with `abi: abiMapOf(built)`, and a port kept only by the
   * recorded ABI of a dependency being rebuilt is planned conditional (see `Plan.conditional`, `AbiResolver`).
   */
  readonly abi?: boolean;
}

/** A port that cannot be built this time, and why (naming the culprit). */
export interface SkipEntry {
  readonly origin: string;
  readonly reason: string;
}

/** What one bulk would do. */
export interface Plan {
  /** Ports to build, in the order the scheduler would start them on one builder. */
  readonly build: string[];
  /** Ports whose existing package is kept (sorted). */
  readonly keep: string[];
  /** Packages to remove: their port left the tree or the list (sorted). */
  readonly delete: string[];
  /** Ports that cannot be built: missing dependency, cycle, invalid recipe, or depending on such (sorted). */
  readonly skip: SkipEntry[];
  /** Sizes of the four lists. */
  readonly counts: { readonly build: number; readonly keep: number; readonly delete: number; readonly skip: number };
  /** Why, for every port in build, keep and delete (e.g. `new`, `recipe changed`, `dependency X rebuilt`). */
  readonly reasons: ReadonlyMap<string, readonly string[]>;
  /**
   * With the ABI check: ports of `build` that are kept after all when the dependencies they wait on keep their
   * ABI (settled during the bulk by `AbiResolver`), with the reasons printed for them. Absent without the check.
   */
  readonly conditional?: ReadonlyMap<string, readonly string[]>;
}

/** Build time assumed for a port with no learned duration (seconds), as `kiln simulate`'s default. */
export const DEFAULT_DURATION_S = 60;

/** What the store keeps of a published package: the shape {@link toBuiltRecords} reads (structural, no store import). */
export interface PublishedPackage {
  readonly origin: string;
  readonly pkgname: string;
  readonly version: string;
  readonly arch: string;
  readonly identity: string;
  readonly components: unknown;
  readonly files: readonly string[];
  readonly built: string;
  readonly durationS?: number;
  readonly abi?: string;
}

/** The packages already built for a (jail, tree), by origin, as the plan compares against them. Pure. */
export function toBuiltRecords(rows: readonly PublishedPackage[]): Map<string, BuiltRecord> {
  const out = new Map<string, BuiltRecord>();
  for (const p of rows) {
    out.set(p.origin, {
      origin: p.origin,
      pkgname: p.pkgname,
      version: p.version,
      arch: p.arch,
      identity: p.identity,
      components: p.components as IdentityComponents,
      files: p.files,
      built: p.built,
      ...(p.durationS !== undefined ? { durationS: p.durationS } : {}),
      ...(p.abi !== undefined ? { abi: p.abi } : {}),
    });
  }
  return out;
}
