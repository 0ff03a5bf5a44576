/**
 * One bulk at a time per (jail, tree): the running bulk's row in the database is the lock, owned by a process
 * (pid + its start time). A bulk whose process died is found dead at the next start and marked `crashed`, so a
 * crash never leaves the lock behind; `--resume` adopts it.
 */
import fs from 'node:fs';
import { KilnError } from '../util/errors.js';
import type { BulkRow, Store } from '../store/index.js';

/** Start time of a process (field 22 of /proc/PID/stat), or null when it is gone. */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** True when the bulk's owner process still runs (a zombie, dead but not yet reaped by its parent, does not). */
export function ownerAlive(b: Pick<BulkRow, 'pid' | 'pidStart'>): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${b.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] === b.pidStart && fields[0] !== 'Z' && fields[0] !== 'X';
  } catch {
    return false;
  }
}

/** A held bulk lock. */
export interface BulkLock {
  readonly bulk: BulkRow;
  /** True when an interrupted bulk was adopted (`--resume`). */
  readonly resumed: boolean;
  /** Nothing to do (the row's status is the lock; finishing the bulk releases it); kept for symmetry. */
  release(): void;
}

/**
 * Takes the (jail, tree) lock: refuses (KILN_E_LOCK) while another live process runs a bulk of the pair; marks
 * dead ones `crashed`; with `resume`, adopts the newest unfinished bulk of the pair.
 */
export function acquireBulk(
  store: Store,
  a: { jail: string; tree: string; builders: number; request: Record<string, unknown>; resume: boolean },
): BulkLock {
  const pid = process.pid;
  const pidStart = processStart(pid) ?? '';
  return store.transaction(() => {
    const recent = store.bulks.listBulks({ jail: a.jail, tree: a.tree, limit: 50 });
    for (const b of recent) {
      if (b.status !== 'running') continue;
      if (ownerAlive(b) && b.pid !== pid) {
        throw new KilnError(
          'KILN_E_LOCK',
          `bulk ${b.id} of jail ${a.jail} and tree ${a.tree} is running (pid ${b.pid}, since ${b.started})`,
          {
            hint: `wait for it to finish, or stop it (kill ${b.pid}) and run again with --resume`,
            exitCode: 1,
          },
        );
      }
      store.bulks.finishBulk(b.id, 'crashed', b.counts);
    }
    if (a.resume) {
      const last = store.bulks.listBulks({ jail: a.jail, tree: a.tree, limit: 1 })[0];
      if (last && (last.status === 'crashed' || last.status === 'cancelled' || last.status === 'running')) {
        store.bulks.adoptBulk(last.id, pid, pidStart);
        return { bulk: store.bulks.getBulk(last.id)!, resumed: true, release: () => undefined };
      }
    }
    const bulk = store.bulks.startBulk({
      jail: a.jail,
      tree: a.tree,
      pid,
      pidStart,
      builders: a.builders,
      request: a.request,
    });
    return { bulk, resumed: false, release: () => undefined };
  });
}
