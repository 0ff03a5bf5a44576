/**
 * `kiln simulate -p TREE (-f LIST | ORIGIN... | -a) -J BUILDERS [--durations FILE] [--policy P] [--json]`:
 * runs the real scheduler against virtual time on the tree's graph and prints the makespan, the critical
 * path, the total work and the lower bound. {@link loadSimulationInput} is the reusable half (tree →
 * closure → graph → durations, problems located) that `bench/sched` uses too.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { InputError, KilnError, UsageError, formatProblems, type Problem } from '../../util/errors.js';
import { openStore } from '../../store/index.js';
import { parseList } from '../../recipe/index.js';
import { resolveTree, scanTree, type TreeRef } from '../../tree/index.js';
import { buildDag, closure, cycleGroups, type Dag } from '../../graph/index.js';
import { graphProblems } from './graph-problems.js';
import {
  DEFAULT_DURATION_S,
  POLICIES,
  durationsFor,
  parseDurations,
  simulate,
  type Policy,
  type SimulationResult,
} from '../../scheduler/index.js';

const HELP = `usage: kiln simulate -p TREE (-f LIST | ORIGIN... | -a) -J BUILDERS [--durations FILE] [--policy P] [--json]

  Runs kiln's scheduler in virtual time on the ports of a list (and what they need) and prints how long
  the bulk would take with BUILDERS builders: makespan, critical path, total work, lower bound.
  -p TREE           a registered tree name or a path to a tree folder
  -f LIST           a list file;  ORIGIN...  origins;  -a  every port of the tree
  -J BUILDERS       number of builders (1 to 9999)
  --durations FILE  JSON object {"CATEGORY/NAME": seconds} (default: the durations learned from earlier builds);
                    other ports take ${DEFAULT_DURATION_S} s
  --policy P        kiln (default), or a baseline for comparison: fifo, poudriere, pbulk
  --json            print one JSON object`;

/** What {@link loadSimulationInput} needs. */
export interface SimulationRequest {
  /** `-p`: tree name or path. */
  readonly tree: string;
  /** `-f`: list file (relative to `ctx.cwd`). */
  readonly file?: string;
  /** Origins from the command line. */
  readonly origins?: readonly string[];
  /** `-a`: every port. */
  readonly all?: boolean;
  /** `--durations`: the durations file (relative to `ctx.cwd`). */
  readonly durations?: string;
}

/** The graph and durations to simulate, and every input problem found on the way. */
export interface SimulationInput {
  readonly tree: TreeRef;
  readonly dag: Dag;
  readonly durations: Float64Array;
  /** Where the known durations came from: `--durations`, learned from earlier builds, or nowhere. */
  readonly source: 'file' | 'learned' | 'none';
  /** How many ports took the default duration. */
  readonly defaulted: number;
  /** Located problems: recipes, list, durations file, missing dependencies, cycles. */
  readonly problems: Problem[];
  /** Problems with no file position. */
  readonly errors: string[];
  /** True when the graph has a cycle (then it cannot be simulated). */
  readonly cyclic: boolean;
}

function readText(file: string, what: string, code: 'KILN_E_LIST' | 'KILN_E_DURATIONS', flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new KilnError(code, `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: `give ${flag} the path of an existing file`,
    });
  }
}

/**
 * Resolves the tree (a registered name needs the store under `ctx.home`; a folder path does not), scans
 * it, takes the closure of the request, builds the graph and reads the durations. Input problems are
 * collected, not thrown, so all are reported at once.
 */
export async function loadSimulationInput(ctx: CliContext, req: SimulationRequest): Promise<SimulationInput> {
  const byPath = req.tree.includes('/') || req.tree === '.' || req.tree === '..';
  const store = byPath || !fs.existsSync(ctx.home) ? null : openStore(ctx.home);
  let tree: TreeRef;
  try {
    tree = resolveTree(store, req.tree, ctx.cwd);
  } finally {
    store?.close();
  }
  const problems: Problem[] = [];
  let roots: readonly string[] | 'all' = req.all ? 'all' : (req.origins ?? []);
  let list: { path: string; text: string } | undefined;
  if (!req.all && req.file !== undefined) {
    const file = path.resolve(ctx.cwd, req.file);
    const text = readText(file, 'list file', 'KILN_E_LIST', '-f');
    const parsed = parseList(text, file);
    problems.push(...parsed.problems);
    roots = parsed.origins;
    list = { path: file, text };
  }
  let known = new Map<string, number>();
  let source: SimulationInput['source'] = 'none';
  if (req.durations !== undefined) {
    const file = path.resolve(ctx.cwd, req.durations);
    const parsed = parseDurations(readText(file, 'durations file', 'KILN_E_DURATIONS', '--durations'), file);
    // A bad durations file stops here, before anything is printed: a simulation with half its durations is misleading.
    if (parsed.problems.length > 0)
      throw new InputError(
        'KILN_E_DURATIONS',
        parsed.problems,
        'durations are a JSON object {"CATEGORY/NAME": seconds ≥ 0}',
      );
    known = parsed.durations;
    source = 'file';
  } else if (fs.existsSync(path.join(ctx.home, 'kiln.db'))) {
    // No file: the wall times learned from earlier builds (the latest good build of each port), as bulks use them.
    const st = openStore(ctx.home);
    try {
      known = st.bulks.learnedDurations();
    } finally {
      st.close();
    }
    source = 'learned';
  }
  const scan = await scanTree(tree);
  problems.push(...scan.problems);
  const { origins, missing } = closure(scan.ports, roots);
  const dag = buildDag(scan.ports, origins);
  const errors: string[] = [];
  const cycles = cycleGroups(dag);
  const graph = {
    problems: graphProblems(scan.ports, missing, dag, cycles, new Set(), tree.name, list, errors),
    cyclic: cycles.length > 0,
  };
  problems.push(...graph.problems);
  const { durations, defaulted } = durationsFor(dag, known);
  return { tree, dag, durations, defaulted, problems, errors, cyclic: graph.cyclic, source };
}

/** `3h 05m 07s` (hours uncapped), `4m 02s`, `12s`; fractions of a second are rounded. */
export function formatSeconds(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600),
    m = Math.floor((t % 3600) / 60),
    sec = t % 60;
  const p = (x: number): string => String(x).padStart(2, '0');
  if (h > 0) return `${h}h ${p(m)}m ${p(sec)}s`;
  if (m > 0) return `${m}m ${p(sec)}s`;
  return `${sec}s`;
}

/** The readable summary of a simulation. */
export function formatSimulation(
  r: SimulationResult,
  tree: string,
  defaulted: number,
  source: SimulationInput['source'] = 'file',
): string {
  const row = (label: string, s: number, note = ''): string =>
    `  ${label.padEnd(14)}${formatSeconds(s).padStart(14)}  (${Math.round(s)} s)${note ? `  ${note}` : ''}`;
  const who = r.policy === 'kiln' ? `kiln's scheduler, order ${r.chosen}` : `${r.policy} ordering`;
  return [
    `simulated ${r.ports} ports of tree ${tree} on ${r.builders} builder${r.builders === 1 ? '' : 's'} (${who})`,
    row('makespan', r.makespan_s, `${(100 * r.utilisation).toFixed(1)} % of builder time busy`),
    row('critical path', r.critical_path_s),
    row('work', r.work_s, `sum of all durations`),
    row('lower bound', r.lower_bound_s, `max(critical path, work / ${r.builders})`),
    `  durations     ${r.ports - defaulted} ${source === 'learned' ? 'learned from earlier builds' : 'known'}, ${defaulted} at the default ${DEFAULT_DURATION_S} s`,
  ].join('\n');
}

/** Handler of `kiln simulate`. */
export async function simulateCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('simulate', argv, {
    tree: { type: 'string', short: 'p' },
    file: { type: 'string', short: 'f' },
    all: { type: 'boolean', short: 'a', default: false },
    builders: { type: 'string', short: 'J' },
    durations: { type: 'string' },
    policy: { type: 'string', default: 'kiln' },
  });
  if (values.help) {
    ctx.out(HELP);
    return 0;
  }
  const usage = (msg: string): UsageError => new UsageError(`kiln simulate: ${msg}`, 'see `kiln simulate --help`');
  if (values.tree === undefined) throw usage('-p TREE is required');
  if ([values.all, values.file !== undefined, positionals.length > 0].filter(Boolean).length !== 1) {
    throw usage('give exactly one of -f LIST, ORIGIN..., or -a');
  }
  if (values.builders === undefined) throw usage('-J BUILDERS is required');
  if (!/^[1-9][0-9]{0,3}$/.test(values.builders)) {
    throw usage(`-J must be a whole number of builders from 1 to 9999, not "${values.builders}"`);
  }
  const policy = values.policy as Policy;
  if (!POLICIES.includes(policy)) throw usage(`--policy must be one of ${POLICIES.join(', ')}, not "${values.policy}"`);
  const input = await loadSimulationInput(ctx, {
    tree: values.tree,
    file: values.file,
    origins: positionals,
    all: values.all,
    durations: values.durations,
  });
  for (const l of formatProblems(input.problems)) ctx.err(l);
  for (const e of input.errors) ctx.err(e);
  if (input.cyclic) {
    ctx.err('hint: the graph has a dependency cycle, so no schedule exists; break the cycle in the recipes');
    return 2;
  }
  const {
    trace: _trace,
    candidates,
    ...result
  } = simulate(input.dag, input.durations, Number(values.builders), policy);
  if (values.json) {
    ctx.out(
      JSON.stringify({
        ...result,
        default_durations: input.defaulted,
        durations_source: input.source,
        ...(candidates ? { candidates } : {}),
      }),
    );
  } else {
    ctx.out(formatSimulation(result, input.tree.name, input.defaulted, input.source));
  }
  return input.problems.length > 0 || input.errors.length > 0 ? 2 : 0;
}
