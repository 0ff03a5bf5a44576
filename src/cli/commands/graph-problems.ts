/**
 * Located problems of a request's graph, shared by `kiln bulk` and `kiln simulate`: a missing dependency is
 * reported at the recipe's `depends.KIND[i]`, a requested origin not in the tree at its line of the list file (or
 * as a plain error without one), a cycle at the edge that closes it. Only the recipes at fault are read.
 */
import fs from 'node:fs';
import { editDistance } from '../../util/distance.js';
import type { Problem } from '../../util/errors.js';
import { locateField, type Port } from '../../recipe/light.js';
import { formatCycle, type CycleGroup, type Dag, type MissingDep } from '../../graph/index.js';

/** A list file as read: its path and text. */
export interface ListFile {
  readonly path: string;
  readonly text: string;
}

/** Line and column of `origin` in a list file's text (1-based), or 1:1. */
export function listPosition(text: string, origin: string): { line: number; column: number } {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const body = lines[i]!.split('#')[0]!;
    if (body.trim() === origin) return { line: i + 1, column: body.indexOf(origin) + 1 };
  }
  return { line: 1, column: 1 };
}

/**
 * The origin of `origins` nearest to `origin` (a typo such as `misc/helo`), or undefined if none is near: within a
 * third of its length in edit distance, or the same name in another category.
 */
export function nearestOrigin(origin: string, origins: Iterable<string>): string | undefined {
  const name = origin.slice(origin.indexOf('/') + 1);
  let best: { o: string; d: number } | undefined;
  for (const o of origins) {
    const d = o.slice(o.indexOf('/') + 1) === name ? 0.5 : editDistance(origin, o);
    if (!best || d < best.d || (d === best.d && o < best.o)) best = { o, d };
  }
  return best && best.d <= Math.max(1, Math.floor(origin.length / 3)) ? best.o : undefined;
}

/**
 * Located problems for missing dependencies and cycles. `invalid` names origins whose recipe failed to load (the
 * message then says so rather than "not in tree"); roots missing with no list file go to `errors`.
 */
export function graphProblems(
  ports: ReadonlyMap<string, Port>,
  missing: readonly MissingDep[],
  dag: Dag,
  cycles: readonly CycleGroup[],
  invalid: ReadonlySet<string>,
  treeName: string,
  list: ListFile | undefined,
  errors: string[],
): Problem[] {
  const texts = new Map<string, string>();
  const at = (port: Port, kind: 'build' | 'run', index: number, message: string): Problem => {
    let text = texts.get(port.path);
    if (text === undefined) {
      try {
        text = fs.readFileSync(port.path, 'utf8');
      } catch {
        text = '';
      }
      texts.set(port.path, text);
    }
    let pos = { line: 1, column: 1 };
    if (text !== '') {
      try {
        pos = locateField(port.path, text, ['depends', kind, index]);
      } catch {
        /* keep 1:1 */
      }
    }
    return { path: port.path, line: pos.line, column: pos.column, field: `depends.${kind}[${index}]`, message };
  };
  const out: Problem[] = [];
  for (const m of missing) {
    const near = m.kind === 'root' && !invalid.has(m.dependsOn) ? nearestOrigin(m.dependsOn, ports.keys()) : undefined;
    const why = invalid.has(m.dependsOn)
      ? `${m.dependsOn}'s recipe is invalid`
      : `${m.dependsOn} is not in tree ${treeName}${near !== undefined ? ` (did you mean ${near}?)` : ''}`;
    if (m.kind !== 'root') {
      const port = ports.get(m.origin);
      if (port) out.push(at(port, m.kind, m.index, why));
    } else if (list) {
      out.push({ path: list.path, ...listPosition(list.text, m.origin), field: 'origin', message: why });
    } else {
      errors.push(`kiln: ${why}`);
    }
  }
  for (const g of cycles) {
    const names = g.cycle.map((i) => dag.ids[i]!);
    const from = ports.get(names[0]!);
    if (!from) continue;
    const to = names[1 % names.length]!;
    const b = from.recipe.depends.build.indexOf(to);
    const kind = b >= 0 ? 'build' : 'run';
    out.push(
      at(from, kind, b >= 0 ? b : from.recipe.depends.run.indexOf(to), `dependency cycle: ${formatCycle(names)}`),
    );
  }
  return out;
}
