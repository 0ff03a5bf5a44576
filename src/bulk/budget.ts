/**
 * The job budget (pure): the host's cores are shared between builders. Each build gets `MAKEFLAGS=-jK` where K
 * depends on how much work competes for the cores when it starts: a lone build at the end of a bulk gets all the
 * cores, many small ones get one each.
 */

/** What {@link jobsFor} weighs. */
export interface BudgetInput {
  /** CPU cores of the host. */
  readonly cores: number;
  /** Builder slots of the bulk (-J). */
  readonly builders: number;
  /** Builds running when this one starts (not counting it). */
  readonly running: number;
  /** Ports ready to start after this one (they will take the other free builders). */
  readonly ready: number;
  /** `adaptive` (default) or `fixed` (always 1 job per builder, as poudriere's default). */
  readonly mode: 'adaptive' | 'fixed';
  /** False for ports marked `parallel: false`. */
  readonly parallelSafe: boolean;
}

/** Jobs for the build about to start. */
export function jobsFor(b: BudgetInput): number {
  if (!b.parallelSafe || b.mode === 'fixed') return 1;
  const competing = Math.max(1, Math.min(b.builders, b.running + 1 + b.ready));
  return Math.max(1, Math.floor(b.cores / competing));
}
