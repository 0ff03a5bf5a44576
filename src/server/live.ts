/**
 * Following running bulks from another process: one {@link BulkFollower} per watched bulk reads the store's rows,
 * then tails the bulk's `events.jsonl` (fs.watch for promptness plus a bounded poll as a safety net), folds each
 * event into the state and writes it once-serialized to every Server-Sent Events client. A client that connects
 * mid-bulk gets the whole state (`snapshot`) and then the stream; snapshot and subscription happen in one tick, so
 * it sees every event exactly once.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Store } from '../store/index.js';
import {
  applyEvent,
  initialState,
  journalPath,
  JournalReader,
  shownStatus,
  snapshot,
  type BulkState,
} from '../report/index.js';

/** A client whose socket buffer grows past this is dropped (its EventSource reconnects and gets a snapshot). */
const MAX_BUFFERED = 8 * 1024 * 1024;

/** Opens an SSE response on a raw Node response. */
export function openSse(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
}

/** One SSE message. */
export function sseMessage(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}

/** Tuning of the followers (tests and the bench use the defaults). */
export interface LiveOptions {
  /** Journal poll interval, ms (default 500). */
  readonly pollMs?: number;
  /** Store status check interval while a bulk runs, ms (default 3000). */
  readonly statusMs?: number;
  /** Keep-alive comment interval, ms (default 15000). */
  readonly heartbeatMs?: number;
}

/** Follows one bulk and fans its events out. */
export class BulkFollower {
  readonly state: BulkState;
  private readonly reader: JournalReader;
  private readonly clients = new Set<ServerResponse>();
  private watcher: fs.FSWatcher | undefined;
  private timers: NodeJS.Timeout[] = [];
  private lastStatusCheck = 0;
  private snapCache: { seq: number; at: number; text: string } | undefined;

  constructor(
    private readonly store: Store,
    home: string,
    readonly id: number,
    private readonly opts: LiveOptions = {},
  ) {
    const bulk = store.bulks.getBulk(id);
    if (!bulk) throw new Error(`no bulk ${id}`);
    // Rows first, then the journal: the journal is then at least as new as the rows (see report/state.ts).
    this.state = initialState(bulk, store.bulks.builds(id));
    this.reader = new JournalReader(journalPath(home, id));
    for (const e of this.reader.readNew()) applyEvent(this.state, e);
    this.refreshStatus();
    this.timers.push(setInterval(() => this.pump(), opts.pollMs ?? 500));
    this.timers.push(
      setInterval(() => {
        for (const c of this.clients) c.write(': keep-alive\n\n');
      }, opts.heartbeatMs ?? 15_000),
    );
    this.watch();
  }

  /** Number of connected clients. */
  get size(): number {
    return this.clients.size;
  }

  private watch(): void {
    try {
      this.watcher = fs.watch(this.reader.file, () => this.pump());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    } // no journal yet: the poll picks it up and we watch then
  }

  /** A running bulk whose process died is shown crashed (checked now and then, not per event). */
  private refreshStatus(): boolean {
    this.lastStatusCheck = Date.now();
    if (this.state.status !== 'running') return false;
    const b = this.store.bulks.getBulk(this.id);
    if (!b) return false;
    const shown = shownStatus(b);
    if (shown !== 'running' && shown !== this.state.status) {
      this.state.status = shown;
      if (b.finished) this.state.finished = b.finished;
      return true;
    }
    return false;
  }

  /** Reads what was appended and sends it to every client. */
  pump(): void {
    const events = this.reader.readNew();
    if (!this.watcher && events.length > 0) this.watch();
    let out = '';
    for (const e of events) {
      applyEvent(this.state, e);
      out += sseMessage('bulk', JSON.stringify(e));
    }
    if (Date.now() - this.lastStatusCheck > (this.opts.statusMs ?? 3000) && this.refreshStatus()) {
      out += sseMessage('status', JSON.stringify({ status: this.state.status, finished: this.state.finished ?? null }));
    }
    if (out === '') return;
    for (const c of this.clients) {
      if (c.writableLength > MAX_BUFFERED) {
        c.end();
        this.clients.delete(c);
        continue;
      }
      c.write(out);
    }
  }

  /** Sends the snapshot to `res` (an opened SSE response) and then every event. */
  add(res: ServerResponse): void {
    this.pump(); // catch up first, so the snapshot is as new as it can be
    // Many clients arriving together share one serialization (reused for a second at most, for its `now`).
    const c = this.snapCache;
    if (!c || c.seq !== this.state.seq || Date.now() - c.at > 1000) {
      this.snapCache = {
        seq: this.state.seq,
        at: Date.now(),
        text: sseMessage('snapshot', JSON.stringify(snapshot(this.state))),
      };
    }
    res.write(this.snapCache!.text);
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
    });
  }

  /** Stops watching and ends every client. */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.watcher?.close();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}

/** The followers of one server: made on demand, dropped a while after their last client leaves. */
export class LiveHub {
  private readonly followers = new Map<number, { f: BulkFollower; idle?: NodeJS.Timeout }>();

  constructor(
    private readonly store: Store,
    private readonly home: string,
    private readonly opts: LiveOptions = {},
  ) {}

  /** The follower of bulk `id` (undefined when there is no such bulk). */
  follow(id: number): BulkFollower | undefined {
    const have = this.followers.get(id);
    if (have) {
      if (have.idle) {
        clearTimeout(have.idle);
        delete have.idle;
      }
      return have.f;
    }
    if (!this.store.bulks.getBulk(id)) return undefined;
    const f = new BulkFollower(this.store, this.home, id, this.opts);
    this.followers.set(id, { f });
    return f;
  }

  /** The state of bulk `id` if it is being followed (caught up now), else undefined. */
  peek(id: number): BulkState | undefined {
    const slot = this.followers.get(id);
    if (!slot) return undefined;
    slot.f.pump();
    return slot.f.state;
  }

  /** Adds an SSE client to bulk `id`'s stream; false when there is no such bulk. */
  attach(id: number, res: ServerResponse): boolean {
    const f = this.follow(id);
    if (!f) return false;
    openSse(res);
    f.add(res);
    res.on('close', () => {
      const slot = this.followers.get(id);
      if (!slot || slot.f.size > 0 || slot.idle) return;
      slot.idle = setTimeout(() => {
        if (slot.f.size === 0) {
          slot.f.close();
          this.followers.delete(id);
        }
      }, 30_000);
      slot.idle.unref();
    });
    return true;
  }

  /** Stops every follower. */
  close(): void {
    for (const { f, idle } of this.followers.values()) {
      if (idle) clearTimeout(idle);
      f.close();
    }
    this.followers.clear();
  }
}
