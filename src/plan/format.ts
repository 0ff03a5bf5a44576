/** Printing a plan: the JSON object of the CLI spec and the text form, with or without reasons. Pure. */
import type { Plan } from './types.js';

/** The JSON shape of `kiln bulk -n --json` (and `explain` with `--explain`). */
export interface PlanJson {
  build: string[];
  keep: string[];
  delete: string[];
  skip: { origin: string; reason: string }[];
  counts: { build: number; keep: number; delete: number; skip: number };
  /** With `--explain`: origin → reasons, for every port in build, keep and delete. */
  explain?: Record<string, string[]>;
}

/** The plan as the CLI spec's JSON object; `explain` adds the reasons. */
export function planToJson(plan: Plan, explain = false): PlanJson {
  const out: PlanJson = {
    build: plan.build,
    keep: plan.keep,
    delete: plan.delete,
    skip: plan.skip.map((s) => ({ origin: s.origin, reason: s.reason })),
    counts: { ...plan.counts },
  };
  if (explain) {
    const e: Record<string, string[]> = {};
    for (const o of [...plan.build, ...plan.keep, ...plan.delete]) e[o] = [...(plan.reasons.get(o) ?? [])];
    out.explain = e;
  }
  return out;
}

/**
 * The plan as text: one line per port (`build ORIGIN`, `keep ORIGIN`, `delete ORIGIN`, `skip ORIGIN:
 * reason`), builds in start order; `explain` appends `: reason, reason` to build, keep and delete lines.
 * Ends with a count line.
 */
export function formatPlanText(plan: Plan, explain = false): string {
  const lines: string[] = [];
  const line = (verb: string, o: string): void => {
    const r = plan.reasons.get(o);
    lines.push(explain && r && r.length > 0 ? `${verb} ${o}: ${r.join(', ')}` : `${verb} ${o}`);
  };
  for (const o of plan.build) line('build', o);
  for (const o of plan.keep) line('keep', o);
  for (const o of plan.delete) line('delete', o);
  for (const s of plan.skip) lines.push(`skip ${s.origin}: ${s.reason}`);
  const c = plan.counts;
  lines.push(`plan: ${c.build} to build, ${c.keep} to keep, ${c.delete} to delete, ${c.skip} skipped`);
  return `${lines.join('\n')}\n`;
}
