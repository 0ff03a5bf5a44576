/**
 * `kiln bulk` over a tree whose lowest layer is Debian's archive (`kiln tree add NAME --debian RELEASE`): read the
 * tree's index, let the debian module decide the bulk's ports and their Build-Depends edges, and carry the broken
 * cycles into the plan's reasons and output.
 */
import fs from 'node:fs';
import type { Problem } from '../../util/errors.js';
import { locateField } from '../../recipe/index.js';
import type { Port } from '../../recipe/index.js';
import type { TreeLayer } from '../../tree/index.js';
import {
  debianArch,
  debianBulk,
  describeBroken,
  readTreeBuildIndex,
  readTreeIndex,
  treeIndexFiles,
  type BrokenEdge,
  type DepEdge,
} from '../../debian/index.js';
import type { Plan } from '../../plan/index.js';

/** What a Debian bulk adds to a plan's output. */
export interface DebianPlanNotes {
  /** Release of the archive. */
  readonly release: string;
  /** Edges given up to break cycles. */
  readonly broken: readonly BrokenEdge[];
  /** Sources of the archive that do not build for the jail's architecture (left out). */
  readonly notForArch: readonly string[];
  /** Ports added by `--rdeps`. */
  readonly rdepsAdded: readonly string[];
  /** Build-Depends edges kept (for a list; none listed for `-a`). */
  readonly waits: readonly DepEdge[];
}

/** The bulk's ports and roots over a Debian tree (see `debianBulk`). */
export function debianPlan(
  layer: TreeLayer,
  folderPorts: ReadonlyMap<string, Port>,
  roots: readonly string[] | 'all',
  jailArch: string | undefined,
  opts: { readonly tests?: boolean; readonly rdeps?: readonly string[]; readonly rdepsDepth?: number },
): {
  ports: Map<string, Port>;
  roots: readonly string[] | 'all';
  problems: Problem[];
  errors: string[];
  notes: DebianPlanNotes;
} {
  const index = readTreeIndex(layer.debian!.index, layer.name);
  const arch = jailArch ?? debianArch();
  const db = debianBulk({
    index,
    buildIndex: () => readTreeBuildIndex(treeIndexFiles(layer.dir).build, layer.name),
    place: { layer: layer.name, dir: layer.dir, path: layer.debian!.index },
    folderPorts,
    roots,
    arch,
    tests: opts.tests ?? false,
    ...(opts.rdeps ? { rdeps: opts.rdeps } : {}),
    ...(opts.rdepsDepth ? { rdepsDepth: opts.rdepsDepth } : {}),
  });
  const errors = [...db.errors];
  if (index.providesRow[arch] === undefined) {
    errors.push(
      `kiln: tree ${layer.name} has no Provides: index for ${arch}, so Build-Depends on virtual packages lead nowhere; ` +
        `add it with \`kiln tree delete ${layer.name}\` and \`kiln tree add ${layer.name} --debian ${index.release} --arch ${Object.keys(index.providesRow).concat(arch).join(',')}\``,
    );
  }
  // Point each problem at its recipe's `build.system` line.
  const problems = db.problems.map((p) => {
    try {
      return { ...p, ...locateField(p.path, fs.readFileSync(p.path, 'utf8'), p.field.split('.')) };
    } catch {
      return p;
    }
  });
  return {
    ports: db.ports,
    roots: db.roots,
    problems,
    errors,
    notes: {
      release: index.release,
      broken: db.broken,
      notForArch: db.notForArch,
      rdepsAdded: db.rdepsAdded,
      waits: db.waits,
    },
  };
}

/** The plan with each broken edge's explanation added to its port's reasons. */
export function withBrokenEdges(plan: Plan, notes: DebianPlanNotes): Plan {
  if (notes.broken.length === 0) return plan;
  const reasons = new Map(plan.reasons);
  for (const b of notes.broken) {
    const r = reasons.get(b.from);
    if (r) reasons.set(b.from, [...r, describeBroken(b)]);
  }
  return { ...plan, reasons };
}

/** The `debian` member of `bulk -n --json`. */
export function debianPlanJson(notes: DebianPlanNotes): Record<string, unknown> {
  return {
    release: notes.release,
    cycles_broken: notes.broken.map((b) => ({ from: b.from, to: b.to, via: b.via, cycle: b.cycle })),
    not_for_arch: notes.notForArch,
    rdeps_added: notes.rdepsAdded,
    build_depends: notes.waits.map((w) => ({ from: w.from, to: w.to, via: w.via })),
  };
}

/** Text lines for `bulk -n`: counts always, every broken edge with `--explain`. */
export function formatDebianNotes(notes: DebianPlanNotes, explain: boolean): string {
  const lines = [
    `debian ${notes.release}: ${notes.broken.length} dependency cycle edge(s) broken, ` +
      `${notes.notForArch.length} source(s) not for this architecture, ${notes.rdepsAdded.length} added by --rdeps`,
  ];
  if (explain) {
    for (const b of notes.broken) lines.push(`  cycle broken: ${b.from} ${describeBroken(b)}`);
    for (const w of notes.waits) lines.push(`  ${w.from} waits for ${w.to} (build-depends on ${w.via})`);
    for (const o of notes.rdepsAdded) lines.push(`  --rdeps added ${o}`);
  }
  return lines.join('\n');
}
