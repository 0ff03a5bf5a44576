/**
 * A bulk's state as the page and the reports see it: the store's rows as the base, the bulk's event journal folded
 * on top. Events are "moves" (port-start puts a port on a builder, port-done puts it in built or failed, ...), so
 * folding the whole journal over rows read *before* it gives the current state whatever the rows already knew.
 * Every step is O(1); the browser applies the same moves to the same snapshot (src/web/static/app.js).
 */
import type { BulkCounts, BulkEvent } from '../bulk/index.js';
import type { BulkRow, BuildRow } from '../store/index.js';

/** Where a port stands in a bulk. */
export type PortResult = BuildRow['result'];

/** One port of a bulk. Optional fields are absent until known. */
export interface PortEntry {
  origin: string;
  result: PortResult;
  version?: string;
  /** Phase it is in (running) or died in (failed). */
  phase?: string;
  /** Kind of failure (`build`, `fetch`, `limit`, ...). */
  failure?: string;
  /** Why it failed or was skipped. */
  reason?: string;
  /** Why it was built, kept or deleted (plan reasons). */
  reasons?: string[];
  builder?: number;
  /** Start time, ms since the epoch. */
  startedT?: number;
  /** Expected duration, seconds (learned from earlier builds). */
  expectedS?: number;
  wallS?: number;
  /** Log path relative to HOME/logs. */
  log?: string;
}

/** The whole state of one bulk (mutable; one per follower). */
export interface BulkState {
  readonly id: number;
  jail: string;
  tree: string;
  builders: number;
  status: string;
  /** ISO start and end. */
  started: string;
  finished?: string;
  counts: BulkCounts;
  etaS: number | null;
  elapsedS: number;
  /** Time of the last event applied (ms since the epoch). */
  lastT: number;
  generation?: number;
  offenders: { origin: string; blocked: number }[];
  /** Every port, by origin, in plan order then arrival order. */
  readonly ports: Map<string, PortEntry>;
  /** Queued origins in priority order (the plan's one-builder order, or a `queue` event's). */
  queue: Set<string>;
  /** Events applied so far. */
  seq: number;
}

/** A queue event the runner may send (not yet part of BulkEvent): the queue in priority order. */
export interface QueueEvent {
  readonly type: 'queue';
  readonly bulk: number;
  readonly t: number;
  readonly origins: readonly string[];
}

/** Anything found in a journal line: a bulk event or a queue event. */
export type JournalEvent = BulkEvent | QueueEvent;

const ZERO: BulkCounts = { built: 0, failed: 0, skipped: 0, kept: 0, deleted: 0, remaining: 0 };

/** Counts from rows (when no event carries them). */
export function countRows(rows: readonly Pick<PortEntry, 'result'>[]): BulkCounts {
  const c = { ...ZERO };
  for (const r of rows) {
    if (r.result === 'queued' || r.result === 'running') c.remaining++;
    else c[r.result]++;
  }
  return c;
}

function entryOf(r: BuildRow): PortEntry {
  const e: PortEntry = { origin: r.origin, result: r.result };
  if (r.version !== undefined) e.version = r.version;
  if (r.phase !== undefined) e.phase = r.phase;
  if (r.failure !== undefined) e.failure = r.failure;
  if (r.reason !== undefined) e.reason = r.reason;
  if (r.reasons !== undefined && r.reasons.length > 0) e.reasons = [...r.reasons];
  if (r.builder !== undefined && /^\d+$/.test(r.builder)) e.builder = Number(r.builder);
  if (r.started !== undefined && r.result === 'running') e.startedT = Date.parse(r.started);
  if (r.wallMs !== undefined) e.wallS = r.wallMs / 1000;
  if (r.log !== undefined) e.log = r.log;
  return e;
}

/** The state from the store's rows alone (read them before the journal). */
export function initialState(bulk: BulkRow, rows: readonly BuildRow[]): BulkState {
  const ports = new Map<string, PortEntry>();
  const queue = new Set<string>();
  for (const r of rows) {
    ports.set(r.origin, entryOf(r));
    if (r.result === 'queued') queue.add(r.origin);
  }
  const counts = bulk.counts ? ({ ...ZERO, ...bulk.counts } as BulkCounts) : countRows([...ports.values()]);
  const end = bulk.finished ? Date.parse(bulk.finished) : Date.now();
  return {
    id: bulk.id,
    jail: bulk.jail,
    tree: bulk.tree,
    builders: bulk.builders,
    status: bulk.status,
    started: bulk.started,
    ...(bulk.finished ? { finished: bulk.finished } : {}),
    counts,
    etaS: null,
    elapsedS: Math.max(0, (end - Date.parse(bulk.started)) / 1000),
    lastT: 0,
    ...(bulk.generation !== undefined ? { generation: bulk.generation } : {}),
    offenders: [],
    ports,
    queue,
    seq: 0,
  };
}

function entry(s: BulkState, origin: string): PortEntry {
  let e = s.ports.get(origin);
  if (!e) {
    e = { origin, result: 'queued' };
    s.ports.set(origin, e);
  }
  return e;
}

/** Applies one journal event to the state (in place). Unknown event types are ignored. */
export function applyEvent(s: BulkState, ev: JournalEvent): void {
  s.seq++;
  s.lastT = Math.max(s.lastT, ev.t);
  switch (ev.type) {
    case 'bulk-start':
      s.jail = ev.jail;
      s.tree = ev.tree;
      s.builders = ev.builders;
      s.counts = ev.counts;
      s.status = 'running';
      delete s.finished;
      break;
    case 'queue':
      s.queue = new Set(ev.origins);
      break;
    case 'port-start': {
      const e = entry(s, ev.origin);
      e.result = 'running';
      e.builder = ev.builder;
      e.startedT = ev.t;
      e.expectedS = ev.expectedS;
      delete e.phase;
      delete e.failure;
      delete e.reason;
      delete e.wallS;
      s.queue.delete(ev.origin);
      break;
    }
    case 'port-phase': {
      const e = entry(s, ev.origin);
      e.phase = ev.phase;
      break;
    }
    case 'port-done': {
      const e = entry(s, ev.origin);
      e.result = ev.ok ? 'built' : 'failed';
      e.wallS = ev.wallS;
      if (ev.ok) {
        delete e.phase;
        delete e.failure;
        delete e.reason;
      } else {
        if (ev.phase !== undefined) e.phase = ev.phase;
        if (ev.failure !== undefined) e.failure = ev.failure;
        if (ev.reason !== undefined) e.reason = ev.reason;
      }
      s.queue.delete(ev.origin);
      break;
    }
    case 'port-skipped': {
      const e = entry(s, ev.origin);
      e.result = 'skipped';
      if (!e.reason?.includes(ev.because)) e.reason = `depends on ${ev.because}, which failed`;
      s.queue.delete(ev.origin);
      break;
    }
    case 'progress':
      s.counts = ev.counts;
      s.etaS = ev.etaS;
      s.elapsedS = ev.elapsedS;
      break;
    case 'publish':
      s.generation = ev.generation;
      break;
    case 'bulk-done':
      s.status = ev.status;
      s.counts = ev.counts;
      s.elapsedS = ev.wallS;
      s.etaS = 0;
      s.offenders = [...ev.offenders];
      s.finished = new Date(ev.t).toISOString();
      if (ev.generation !== undefined) s.generation = ev.generation;
      break;
    default:
      break;
  }
}

/** The state as JSON (what `/api/bulks/ID` returns and the SSE snapshot carries). */
export interface BulkSnapshot {
  readonly id: number;
  readonly jail: string;
  readonly tree: string;
  readonly builders: number;
  readonly status: string;
  readonly started: string;
  readonly finished?: string;
  readonly counts: BulkCounts;
  readonly etaS: number | null;
  readonly elapsedS: number;
  readonly lastT: number;
  readonly generation?: number;
  readonly offenders: readonly { origin: string; blocked: number }[];
  readonly ports: readonly PortEntry[];
  readonly queue: readonly string[];
  readonly seq: number;
  /** Server time when the snapshot was taken (ms since the epoch), so a client can correct its clock. */
  readonly now: number;
}

/** A JSON-ready copy of the state. */
export function snapshot(s: BulkState, now = Date.now()): BulkSnapshot {
  return {
    id: s.id,
    jail: s.jail,
    tree: s.tree,
    builders: s.builders,
    status: s.status,
    started: s.started,
    ...(s.finished ? { finished: s.finished } : {}),
    counts: s.counts,
    etaS: s.etaS,
    elapsedS: s.elapsedS,
    lastT: s.lastT,
    ...(s.generation !== undefined ? { generation: s.generation } : {}),
    offenders: s.offenders,
    ports: [...s.ports.values()],
    queue: [...s.queue],
    seq: s.seq,
    now,
  };
}
