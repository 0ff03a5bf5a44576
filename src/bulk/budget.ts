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
  /** Expected seconds of the build about to start (learned), when known. */
  readonly expectedS?: number;
  /**
   * Expected seconds each running build still needs, when known. A running build that should end within a quarter
   * of this one's expected time does not count as competing: a long build that starts while short ones finish
   * would otherwise keep -j1 for hours after they are gone.
   */
  readonly runningLeftS?: readonly number[];
}

/** Jobs for the build about to start. */
export function jobsFor(b: BudgetInput): number {
  if (!b.parallelSafe || b.mode === 'fixed') return 1;
  const running =
    b.expectedS !== undefined && b.runningLeftS !== undefined && b.runningLeftS.length === b.running
      ? b.runningLeftS.filter((left) => left > b.expectedS! / 4).length
      : b.running;
  const competing = Math.max(1, Math.min(b.builders, running + 1 + b.ready));
  return Math.max(1, Math.floor(b.cores / competing));
}
