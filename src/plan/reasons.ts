/**
 * Why a port is built, kept or deleted: the reasons `--explain` prints, and the reasons a changed identity gives.
 * Shared by the planner (plan.ts) and the ABI check (abi.ts), which imports it, not the planner. Pure.
 */
import type { IdentityComponents } from './identity.js';
import type { BuiltRecord } from './types.js';

/** The reasons a planned port is built, as printed by `--explain`. */
export const REASONS = {
  new: 'new',
  recipe: 'recipe changed',
  options: 'option changed',
  jail: 'jail changed',
  format: 'format changed',
  forced: 'forced (-C)',
  identity: 'identity changed',
  unchanged: 'unchanged',
  leftTree: 'port left the tree',
  leftList: 'not in the list',
  stale: 'stale, kept (--keep-stale)',
  notRequested: 'not requested, kept (origins on the command line add, never remove)',
} as const;

/** `dependency X rebuilt`. */
export function dependencyRebuilt(origin: string): string {
  return `dependency ${origin} rebuilt`;
}

function sameOptions(a: Readonly<Record<string, boolean>>, b: Readonly<Record<string, boolean>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => k in b && a[k] === b[k]);
}

/** Why a port whose identity differs from its built record's must be rebuilt (empty if it need not). */
export function changeReasons(old: BuiltRecord, now: IdentityComponents, nowHash: string): string[] {
  if (old.identity === nowHash) return [];
  const was = old.components;
  const reasons: string[] = [];
  if (was.format !== now.format) reasons.push(REASONS.format);
  if (was.jail !== now.jail) reasons.push(REASONS.jail);
  if (was.recipe !== now.recipe) reasons.push(REASONS.recipe);
  if (!sameOptions(was.options, now.options)) reasons.push(REASONS.options);
  const rebuilt = new Set<string>();
  for (const kind of ['build', 'run'] as const) {
    for (const [dep, hash] of Object.entries(now[kind])) {
      const before = was.build[dep] ?? was.run[dep];
      if (before !== undefined && before !== hash) rebuilt.add(dep);
    }
  }
  for (const dep of [...rebuilt].sort()) reasons.push(dependencyRebuilt(dep));
  if (reasons.length === 0) reasons.push(REASONS.identity);
  return reasons;
}
