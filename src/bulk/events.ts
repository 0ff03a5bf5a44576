/**
 * What a bulk tells the world while it runs: one typed event stream that the terminal display, `--json`, the
 * reports and the web page's Server-Sent Events all consume.
 */
import { EventEmitter } from 'node:events';
import type { EstimateSource } from './durations.js';

/** Counts of a bulk. */
export interface BulkCounts {
  readonly built: number;
  readonly failed: number;
  readonly skipped: number;
  readonly kept: number;
  readonly deleted: number;
  /** Ports still to build (queued or running). */
  readonly remaining: number;
}

/** One event; every event has the bulk id and a time (ms since the epoch). */
export type BulkEvent = { readonly bulk: number; readonly t: number } & (
  | {
      readonly type: 'bulk-start';
      readonly jail: string;
      readonly tree: string;
      readonly builders: number;
      readonly toBuild: number;
      readonly counts: BulkCounts;
      readonly resumed: boolean;
    }
  | {
      readonly type: 'port-start';
      readonly origin: string;
      readonly builder: number;
      readonly jobs: number;
      readonly expectedS: number;
      /** Where `expectedS` came from (absent in journals written before it existed). */
      readonly estimate?: EstimateSource;
    }
  | { readonly type: 'port-phase'; readonly origin: string; readonly builder: number; readonly phase: string }
  | {
      readonly type: 'port-done';
      readonly origin: string;
      readonly builder: number;
      readonly ok: boolean;
      readonly wallS: number;
      /** CPU seconds of the build's sandboxed commands, when a cgroup measured them. */
      readonly cpuS?: number;
      readonly phase?: string;
      readonly failure?: string;
      readonly reason?: string;
    }
  | { readonly type: 'port-skipped'; readonly origin: string; readonly because: string }
  | { readonly type: 'progress'; readonly counts: BulkCounts; readonly etaS: number | null; readonly elapsedS: number }
  | { readonly type: 'publish'; readonly generation: number; readonly packages: number }
  | {
      readonly type: 'bulk-done';
      readonly status: string;
      readonly counts: BulkCounts;
      readonly wallS: number;
      readonly offenders: readonly { readonly origin: string; readonly blocked: number }[];
      readonly generation?: number;
    }
);

/** Distributes a bulk's events to listeners. */
export class BulkEvents extends EventEmitter<{ event: [BulkEvent] }> {
  /** Sends one event to every listener. */
  send(e: BulkEvent): void {
    this.emit('event', e);
  }
  /** Calls `fn` with every event from now on; returns a function that stops it. */
  subscribe(fn: (e: BulkEvent) => void): () => void {
    this.on('event', fn);
    return () => {
      this.off('event', fn);
    };
  }
}
