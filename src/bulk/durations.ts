/**
 * Expected build durations, which drive the scheduler's critical-path priority and the ETA. In order of trust:
 * the port's learned wall time (its latest successful build, any bulk), the duration recorded with its current
 * package, an estimate from the size of its distfiles when they are in the cache, and a default.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Port } from '../recipe/index.js';

/** Seconds assumed for a port never built and with nothing to estimate from. */
export const DEFAULT_EXPECTED_S = 60;

/**
 * The size model for a port never built: a fixed cost (sandbox, dependencies, packaging) plus a cost per MiB of
 * compressed source. A least-squares fit on the example tree's first bulk (`bench/parallel`: 7 ports, 0.06–0.7 MiB
 * of source, 5–39 s each at -J 2 on 2 loaded cores); size explains little of a build's time, so this is only a
 * first guess until the port's own wall time is learned.
 */
export const SIZE_MODEL = { baseS: 17, perMiBS: 24 } as const;

/** Where an expected duration came from. */
export type EstimateSource = 'learned' | 'previous' | 'distfile-size' | 'default';

/** One port's expected duration and its source. */
export interface Expected {
  readonly seconds: number;
  readonly source: EstimateSource;
}

/**
 * Total bytes of a port's distfiles in the cache `HOME/distfiles/sha256/ab/HASH` (for a Debian source package, of
 * its files as the archive lists them), or undefined when the port has no distfiles or one of them is not cached.
 */
export function cachedDistfileBytes(distfilesDir: string, port: Port): number | undefined {
  // A Debian source package: the archive's index gives the sizes of the .dsc and its files.
  if (port.debian) return port.debian.files.reduce((a, f) => a + f.size, 0) || undefined;
  const sources = port.recipe.sources;
  if (sources.length === 0) return undefined;
  let total = 0;
  for (const s of sources) {
    try {
      total += fs.statSync(path.join(distfilesDir, 'sha256', s.sha256.slice(0, 2), s.sha256)).size;
    } catch {
      return undefined;
    }
  }
  return total;
}

/** Seconds expected from the distfiles' total size (pure). */
export function estimateFromSize(bytes: number): number {
  return SIZE_MODEL.baseS + (SIZE_MODEL.perMiBS * bytes) / (1024 * 1024);
}

/** What {@link expectedDuration} weighs. */
export interface ExpectedInput {
  /** Latest successful wall time per origin (`store.bulks.learnedDurations()`). */
  readonly learned: ReadonlyMap<string, number>;
  /** Duration recorded with the current package of the origin, when any. */
  readonly previousS?: ReadonlyMap<string, number | undefined>;
  /** The distfile cache folder (`HOME/distfiles`). */
  readonly distfilesDir: string;
}

/** A port's expected duration: learned, then its package's recorded one, then from distfile size, then the default. */
export function expectedDuration(port: Port, inp: ExpectedInput): Expected {
  const learned = inp.learned.get(port.origin);
  if (learned !== undefined && learned > 0) return { seconds: learned, source: 'learned' };
  const prev = inp.previousS?.get(port.origin);
  if (prev !== undefined && prev > 0) return { seconds: prev, source: 'previous' };
  const bytes = cachedDistfileBytes(inp.distfilesDir, port);
  if (bytes !== undefined) return { seconds: estimateFromSize(bytes), source: 'distfile-size' };
  return { seconds: DEFAULT_EXPECTED_S, source: 'default' };
}

/** Seconds assumed for the final publish when no earlier bulk of the pair tells. */
export const DEFAULT_PUBLISH_S = 3;

/**
 * How long the end of the last bulk of the pair took: in the newest earlier bulk's events journal
 * (`HOME/logs/ID/events.jsonl`) that has a `publish` event, the time from its last `port-done` (or its start) to its
 * `bulk-done` (publish, then waiting for sandbox deletions), else to the `publish` event. The ETA adds it, since a
 * bulk ends when its repository is published and its sandboxes are gone, not when its last build does.
 */
export function lastPublishSeconds(home: string, bulkIds: readonly number[]): number {
  for (const id of bulkIds) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(home, 'logs', String(id), 'events.jsonl'), 'utf8');
    } catch {
      continue;
    }
    let from: number | undefined;
    let publishedAt: number | undefined;
    let endedAt: number | undefined;
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let e: { type?: string; t?: number };
      try {
        e = JSON.parse(line) as { type?: string; t?: number };
      } catch {
        continue;
      }
      if (typeof e.t !== 'number') continue;
      if (e.type === 'bulk-start' || e.type === 'port-done') from = e.t;
      if (e.type === 'publish') publishedAt = e.t;
      if (e.type === 'bulk-done') endedAt = e.t;
    }
    const end = endedAt ?? publishedAt;
    if (from !== undefined && publishedAt !== undefined && end !== undefined && end >= from) return (end - from) / 1000;
  }
  return DEFAULT_PUBLISH_S;
}
