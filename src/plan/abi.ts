/**
 * The ABI check (opt-in, `abi: true` in {@link PlanInput}): a port whose own recipe, options and jail are unchanged
 * and whose rebuilt dependency keeps its ABI hash is kept instead of rebuilt. Pure.
 *
 * How: under the check, a dependency whose package has an ABI hash (`BuiltRecord.abi`) enters its dependents'
 * identities as `abi:HASH` instead of its own identity (`computeIdentities({abi: abiMapOf(built)})`). Rebuilding
 * it with the same ABI therefore leaves their identities as they were: stable, so the next bulk keeps them too.
 * The plan cannot know a rebuilt package's ABI before it is built, so a port that matches its record only by the
 * recorded ABI of a dependency being rebuilt is planned *conditional*: listed in `build` (in scheduler order, after
 * that dependency) with the reason `dependency X rebuilt, kept if its ABI is unchanged`. During the bulk,
 * {@link AbiResolver} settles it when it would start: kept (`dependency X rebuilt, ABI unchanged`) when its
 * identity recomputed with the actual ABIs equals its record's, else built under the recomputed identity. Every
 * other port to build gets its identity recomputed the same way (a dependency's ABI may have changed).
 */
import type { Dag } from '../graph/index.js';
import { topoOrder } from '../graph/index.js';
import { abiContribution, identityHash, type Identity, type IdentityComponents } from './identity.js';
import { changeReasons, dependencyRebuilt } from './reasons.js';
import type { BuiltRecord, Plan } from './types.js';

/** Origin → ABI hash, for the built records that have one (the `abi` input of `computeIdentities`). */
export function abiMapOf(built: ReadonlyMap<string, BuiltRecord>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [origin, r] of built) if (r.abi !== undefined) out.set(origin, r.abi);
  return out;
}

/** `dependency X rebuilt, ABI unchanged`: why a port was kept under the ABI check. */
export function abiUnchanged(origin: string): string {
  return `dependency ${origin} rebuilt, ABI unchanged`;
}

const depValue = (c: IdentityComponents, dep: string): string | undefined => c.build[dep] ?? c.run[dep];
const isAbi = (v: string | undefined): boolean => v !== undefined && v.startsWith('abi:');

/**
 * The conditional ports of an ABI-checked plan: node ids of ports kept by identity (`kept`) that wait on a
 * dependency being rebuilt (`building`) whose recorded ABI stands in their identity, or on another conditional
 * port. Returns node id → the reasons to print (one per dependency waited on).
 */
export function conditionalKeeps(
  dag: Dag,
  identities: ReadonlyMap<string, Identity>,
  kept: ReadonlySet<number>,
  building: ReadonlySet<number>,
): Map<number, string[]> {
  const out = new Map<number, string[]>();
  if (kept.size === 0 || building.size === 0) return out;
  for (const v of topoOrder(dag)) {
    if (!kept.has(v)) continue;
    const comps = identities.get(dag.ids[v]!)!.components;
    const why: string[] = [];
    for (const d of [...dag.deps[v]!].sort((a, b) => (dag.ids[a]! < dag.ids[b]! ? -1 : 1))) {
      const dep = dag.ids[d]!;
      const viaAbi = isAbi(depValue(comps, dep));
      if (out.has(d))
        why.push(
          viaAbi
            ? `dependency ${dep} may be rebuilt, kept if its ABI is unchanged`
            : `dependency ${dep} may be rebuilt, kept if it is kept`,
        );
      else if (building.has(d) && viaAbi) why.push(`dependency ${dep} rebuilt, kept if its ABI is unchanged`);
    }
    if (why.length > 0) out.set(v, why);
  }
  return out;
}

/** What {@link AbiResolver.decide} says about a port about to start. */
export type AbiDecision =
  /** Keep the existing package: `record` stays as it is (its identity is still right). */
  | { readonly action: 'keep'; readonly record: BuiltRecord; readonly reasons: readonly string[] }
  /** Build it, recording `identity` (recomputed with the actual ABIs of its dependencies). */
  | { readonly action: 'build'; readonly identity: Identity; readonly reasons: readonly string[] };

/** Input of {@link AbiResolver}: what the plan was made from. */
export interface AbiResolverInput {
  readonly plan: Plan;
  /** The identities the plan was made with (computed with `abi: abiMapOf(built)`). */
  readonly identities: ReadonlyMap<string, Identity>;
  readonly built: ReadonlyMap<string, BuiltRecord>;
}

/**
 * Settles an ABI-checked plan during its bulk. Call {@link decide} for every port of `plan.build` when the scheduler
 * would start it (its dependencies are then finished), and {@link built} after each successful build with the new
 * package's ABI hash (undefined when it has none). A port decided `keep` is finished without building.
 */
export class AbiResolver {
  /** What each rebuilt port now contributes to its dependents' identities. */
  private readonly value = new Map<string, string>();
  /** Ports rebuilt with the ABI their record had. */
  private readonly sameAbi = new Set<string>();
  /** Why each port kept by the check was kept. */
  private readonly keptWhy = new Map<string, readonly string[]>();
  /** The identity each decided-to-build port is built under. */
  private readonly pending = new Map<string, Identity>();
  /** Ports kept by the check, so far. */
  readonly kept: string[] = [];

  constructor(private readonly input: AbiResolverInput) {}

  /** Keep or build `origin`, now that its dependencies are settled. */
  decide(origin: string): AbiDecision {
    const id = this.input.identities.get(origin);
    if (!id) throw new Error(`no identity for ${origin}`);
    const c = id.components;
    let changed = false;
    const sub = (rec: Readonly<Record<string, string>>): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const k of Object.keys(rec)) {
        const v = this.value.get(k) ?? rec[k]!;
        if (v !== rec[k]) changed = true;
        out[k] = v;
      }
      return out;
    };
    const comps: IdentityComponents = { ...c, build: sub(c.build), run: sub(c.run) };
    const now: Identity = changed ? { hash: identityHash(comps), components: comps } : id;
    const old = this.input.built.get(origin);
    const why = this.input.plan.conditional?.get(origin);
    if (why && old && old.identity === now.hash) {
      const reasons: string[] = [];
      for (const dep of Object.keys({ ...c.build, ...c.run }).sort()) {
        if (this.sameAbi.has(dep)) reasons.push(abiUnchanged(dep));
        else for (const r of this.keptWhy.get(dep) ?? []) reasons.push(r);
      }
      const uniq = [...new Set(reasons)];
      this.keptWhy.set(origin, uniq);
      this.kept.push(origin);
      return { action: 'keep', record: old, reasons: uniq };
    }
    this.pending.set(origin, now);
    let reasons = this.input.plan.reasons.get(origin) ?? [];
    if (why && old) {
      // A conditional port whose dependency's ABI changed: say which, as the plan would have without the check.
      reasons = changeReasons(old, now.components, now.hash).map((r) => {
        const dep =
          r.startsWith('dependency ') && r.endsWith(' rebuilt')
            ? r.slice('dependency '.length, -' rebuilt'.length)
            : undefined;
        return dep !== undefined && isAbi(depValue(c, dep)) && r === dependencyRebuilt(dep) ? `${r}, ABI changed` : r;
      });
    }
    return { action: 'build', identity: now, reasons };
  }

  /** Records a finished build of `origin` and its package's ABI hash (undefined: it has no library interface). */
  built(origin: string, abi: string | undefined): void {
    const id = this.pending.get(origin) ?? this.input.identities.get(origin);
    if (!id) return;
    this.value.set(origin, abi === undefined ? id.hash : abiContribution(abi));
    const old = this.input.built.get(origin);
    if (abi !== undefined && old?.abi === abi) this.sameAbi.add(origin);
  }

  /** The identity `origin` was decided to be built under (after {@link decide}). */
  identityOf(origin: string): Identity | undefined {
    return this.pending.get(origin);
  }
}

/** What {@link settlePlan} found: which ports of the plan were built and which the ABI check kept. */
export interface SettledPlan {
  /** Ports built, in plan order. */
  readonly built: string[];
  /** Ports kept by the ABI check, with why. */
  readonly kept: Map<string, readonly string[]>;
  /** The identity each built port was built under. */
  readonly identities: Map<string, Identity>;
}

/**
 * Settles a whole ABI-checked plan as a bulk would with every build succeeding, `abiOf(origin)` giving each built
 * package's ABI hash. For simulations (`bench/abi`) and as the reference of what a bulk does with the resolver.
 */
export function settlePlan(input: AbiResolverInput, abiOf: (origin: string) => string | undefined): SettledPlan {
  const r = new AbiResolver(input);
  const built: string[] = [];
  const kept = new Map<string, readonly string[]>();
  const identities = new Map<string, Identity>();
  for (const origin of input.plan.build) {
    const d = r.decide(origin);
    if (d.action === 'keep') {
      kept.set(origin, d.reasons);
      continue;
    }
    built.push(origin);
    identities.set(origin, d.identity);
    r.built(origin, abiOf(origin));
  }
  return { built, kept, identities };
}
