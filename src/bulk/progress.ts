/**
 * The terminal side of a bulk: on a TTY, a live line per builder (port, phase, elapsed) under a progress bar with
 * counts and ETA, redrawn in place; otherwise plain timestamped lines; with `--json`, one event per line.
 */
import type { BulkEvent } from './events.js';

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t >= 3600) return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
  if (t >= 60) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${t}s`;
}

/** One plain line for an event, or null for events not worth a line. Pure. */
export function plainLine(e: BulkEvent): string | null {
  const at = new Date(e.t).toISOString().slice(11, 19);
  switch (e.type) {
    case 'bulk-start':
      return `[${at}] bulk ${e.bulk}${e.resumed ? ' (resumed)' : ''}: jail ${e.jail}, tree ${e.tree}, ${e.toBuild} to build, ${e.counts.kept} kept, ${e.counts.skipped} skipped, ${e.builders} builder(s)`;
    case 'port-start':
      return `[${at}] [${e.builder}] ${e.origin}: started (-j${e.jobs}, expected ${formatDuration(e.expectedS)})`;
    case 'port-phase':
      return null;
    case 'port-done':
      return e.ok
        ? `[${at}] [${e.builder}] ${e.origin}: built in ${formatDuration(e.wallS)}`
        : `[${at}] [${e.builder}] ${e.origin}: FAILED in phase ${e.phase ?? '?'} after ${formatDuration(e.wallS)}: ${e.reason ?? ''}`;
    case 'port-skipped':
      return `[${at}] ${e.origin}: skipped, depends on ${e.because} which failed`;
    case 'progress': {
      const c = e.counts;
      const total = c.built + c.failed + c.remaining + c.skipped;
      return `[${at}] progress: ${c.built + c.failed + c.skipped}/${total} (built ${c.built}, failed ${c.failed}, skipped ${c.skipped}), elapsed ${formatDuration(e.elapsedS)}${e.etaS !== null ? `, ETA ${formatDuration(e.etaS)}` : ''}`;
    }
    case 'publish':
      return `[${at}] published generation ${e.generation} (${e.packages} packages)`;
    case 'bulk-done':
      return `[${at}] bulk ${e.bulk} ${e.status} in ${formatDuration(e.wallS)}`;
  }
}

/** Keeps the live state a TTY display redraws from. */
export class LiveView {
  private readonly builders = new Map<number, { origin: string; phase: string; since: number }>();
  private last: Extract<BulkEvent, { type: 'progress' }> | undefined;
  private lines = 0;

  constructor(
    private readonly write: (s: string) => void,
    private readonly width = 100,
  ) {}

  /** Takes one event: prints finished ports above the live area and redraws it. */
  onEvent(e: BulkEvent): void {
    if (e.type === 'port-start') this.builders.set(e.builder, { origin: e.origin, phase: 'start', since: e.t });
    if (e.type === 'port-phase') {
      const b = this.builders.get(e.builder);
      if (b) b.phase = e.phase;
    }
    if (e.type === 'progress') this.last = e;
    const permanent =
      e.type === 'port-done' ||
      e.type === 'port-skipped' ||
      e.type === 'bulk-start' ||
      e.type === 'publish' ||
      e.type === 'bulk-done'
        ? plainLine(e)
        : null;
    if (e.type === 'port-done') this.builders.delete(e.builder);
    this.clear();
    if (permanent) this.write(`${permanent}\n`);
    if (e.type !== 'bulk-done') this.draw();
  }

  /** Redraws the elapsed times (call every second). */
  tick(): void {
    this.clear();
    this.draw();
  }

  private clear(): void {
    if (this.lines > 0) this.write(`\x1b[${this.lines}F\x1b[J`);
    this.lines = 0;
  }

  private draw(): void {
    const out: string[] = [];
    for (const [b, s] of [...this.builders].sort((x, y) => x[0] - y[0])) {
      out.push(
        `  [${b}] ${s.origin.padEnd(32)} ${s.phase.padEnd(14)} ${formatDuration((Date.now() - s.since) / 1000)}`.slice(
          0,
          this.width,
        ),
      );
    }
    if (this.last) {
      const c = this.last.counts;
      const total = Math.max(1, c.built + c.failed + c.skipped + c.remaining);
      const doneN = c.built + c.failed + c.skipped;
      const barW = 30;
      const fill = Math.round((doneN / total) * barW);
      out.push(
        `  [${'#'.repeat(fill)}${'.'.repeat(barW - fill)}] ${doneN}/${total}  built ${c.built}  failed ${c.failed}  skipped ${c.skipped}  ETA ${this.last.etaS === null ? '-' : formatDuration(Math.max(0, this.last.etaS - (Date.now() - this.last.t) / 1000))}`.slice(
          0,
          this.width,
        ),
      );
    }
    if (out.length > 0) this.write(`${out.join('\n')}\n`);
    this.lines = out.length;
  }
}
