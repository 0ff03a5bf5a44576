/**
 * What a clean removed (or, in a dry run, would remove), and the one helper that removes: it measures first
 * (files, bytes, symbolic links not followed), then deletes unless it is a dry run.
 */
import fs from 'node:fs';
import path from 'node:path';

/** What `kiln clean` cleans. */
export type CleanKind = 'packages' | 'distfiles' | 'logs' | 'ccache' | 'layers';

/** One removed file or folder. */
export interface Removal {
  /** Path relative to the kiln home. */
  readonly path: string;
  /** Files (and symbolic links) it held; 1 for a file. */
  readonly files: number;
  /** Bytes of those files. */
  readonly bytes: number;
  /** Why nothing needs it any more. */
  readonly why: string;
}

/** Something a clean left alone on purpose, and why. */
export interface Spared {
  readonly path: string;
  readonly why: string;
}

/** The outcome of one clean. */
export interface CleanReport {
  readonly kind: CleanKind;
  /** True when nothing was removed, only measured. */
  readonly dryRun: boolean;
  /** What was (or would be) removed, by path. */
  readonly removed: readonly Removal[];
  /** Totals of {@link removed}. */
  readonly files: number;
  readonly bytes: number;
  /** What was kept because it is in use (a running bulk, a shared folder). */
  readonly spared: readonly Spared[];
}

/** Files and bytes under `p` (itself if a file; symbolic links count as files of their own size, not followed). */
export function measure(p: string): { files: number; bytes: number } {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return { files: 0, bytes: 0 };
  }
  if (!st.isDirectory()) return { files: 1, bytes: st.size };
  let files = 0;
  let bytes = 0;
  const stack = [p];
  for (let guard = 0; stack.length > 0 && guard < 10_000_000; guard++) {
    const dir = stack.pop()!;
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        stack.push(full);
        continue;
      }
      files++;
      try {
        bytes += fs.lstatSync(full).size;
      } catch {
        /* raced away */
      }
    }
  }
  return { files, bytes };
}

/** Collects removals of one clean; removes as it goes unless `dryRun`. */
export class Cleaner {
  private readonly removed: Removal[] = [];
  private readonly spared: Spared[] = [];
  constructor(
    readonly kind: CleanKind,
    readonly home: string,
    readonly dryRun: boolean,
  ) {}

  /** Measures and (unless a dry run) removes `abs`, a file or a whole folder. */
  remove(abs: string, why: string): void {
    const m = measure(abs);
    if (!this.dryRun) fs.rmSync(abs, { recursive: true, force: true });
    this.removed.push({ path: path.relative(this.home, abs), files: m.files, bytes: m.bytes, why });
  }

  /** Notes something left alone on purpose. */
  spare(abs: string, why: string): void {
    this.spared.push({ path: path.relative(this.home, abs), why });
  }

  /** The report, removals sorted by path. */
  report(): CleanReport {
    const removed = [...this.removed].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return {
      kind: this.kind,
      dryRun: this.dryRun,
      removed,
      files: removed.reduce((s, r) => s + r.files, 0),
      bytes: removed.reduce((s, r) => s + r.bytes, 0),
      spared: this.spared,
    };
  }
}

/** Bytes for a person: `512 B`, `1.5 KiB`, `12.0 MiB`, `3.20 GiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** The report for a person: one summary line, then one line per removal and per spared path. */
export function formatCleanReport(r: CleanReport): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const lines = [
    `kiln clean ${r.kind}: ${verb} ${r.files} file${r.files === 1 ? '' : 's'}, ${formatBytes(r.bytes)}` +
      `${r.removed.length > 0 ? ` (${r.removed.length} entr${r.removed.length === 1 ? 'y' : 'ies'})` : ''}`,
  ];
  for (const x of r.removed)
    lines.push(
      `  ${r.dryRun ? 'would remove' : 'removed'} ${x.path} (${x.files} file${x.files === 1 ? '' : 's'}, ${formatBytes(x.bytes)}): ${x.why}`,
    );
  for (const s of r.spared) lines.push(`  kept ${s.path}: ${s.why}`);
  return lines.join('\n');
}
