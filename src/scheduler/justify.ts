/**
 * Forward-backward improvement ("justification", Valls et al. 2005, from project scheduling): take a
 * schedule, schedule the reversed graph with the ports that finished last going first, then schedule
 * forward again in the order of the start times that backward schedule implies. It closes idle gaps a
 * greedy list schedule leaves; the result is just another rank for the same state machine.
 */
import type { Dag } from '../graph/index.js';
import type { Csr } from './csr.js';
import { runSimulation } from './run.js';

/** The graph with every edge turned around (dependents become dependencies). */
export function reverseCsr(csr: Csr): Csr {
  const topo = csr.topo.slice().reverse();
  return { n: csr.n, depOff: csr.rdepOff, depIdx: csr.rdepIdx, rdepOff: csr.depOff, rdepIdx: csr.depIdx, topo };
}

/** Rank by `key` ascending, ties by `tie` rank. */
function rankAscending(key: Float64Array, tie: Int32Array): Int32Array {
  const n = key.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => key[a]! - key[b]! || tie[a]! - tie[b]!);
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[order[i]!] = i;
  return rank;
}

/** A justified ordering and the makespan it gives when run forward. */
export interface Justified {
  readonly rank: Int32Array;
  readonly makespan: number;
}

/**
 * Runs `rounds` forward-backward passes starting from `rank` (whose forward makespan is `makespan`) and
 * returns the best forward ordering seen (possibly `rank` itself). Costs two simulations per round.
 */
export function justify(
  dag: Dag,
  csr: Csr,
  dur: Float64Array,
  cp: Float64Array,
  builders: number,
  rank: Int32Array,
  makespan: number,
  rounds = 2,
): Justified {
  const rev = reverseCsr(csr);
  let best: Justified = { rank, makespan };
  let current = rank;
  for (let r = 0; r < rounds; r++) {
    const fwd = runSimulation(dag, csr, dur, cp, builders, current, true);
    // Backward: latest forward finish first.
    const negFinish = fwd.trace!.finish.map((f) => -f);
    const back = runSimulation(dag, rev, dur, cp, builders, rankAscending(negFinish, current), true);
    const startFwd = back.trace!.finish.map((f) => back.makespan - f);
    current = rankAscending(startFwd, current);
    const again = runSimulation(dag, csr, dur, cp, builders, current, false);
    if (again.makespan < best.makespan) best = { rank: current, makespan: again.makespan };
  }
  return best;
}
