/**
 * Expected build durations: the `--durations FILE` format (`{ORIGIN: seconds}`), parsed from text with
 * every problem located, and the per-node array the scheduler takes. Pure: the caller reads the file.
 */
import type { Dag } from '../graph/index.js';
import type { Problem } from '../util/errors.js';

/** Default expected duration of a port with no known duration, in seconds. */
export const DEFAULT_DURATION_S = 60;

/** Result of {@link parseDurations}. */
export interface DurationsParse {
  /** Origin → seconds, for the valid entries. */
  readonly durations: Map<string, number>;
  /** Located problems (bad JSON, not an object, a value that is not a non-negative number). */
  readonly problems: Problem[];
}

/** 1-based line and column of character `offset` in `text`. */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1,
    col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return { line, column: col };
}

/**
 * Parses a durations file: a JSON object mapping origins to seconds (finite numbers ≥ 0). Every bad entry
 * is reported at its key's line and column; valid entries are kept.
 */
export function parseDurations(text: string, path: string): DurationsParse {
  const durations = new Map<string, number>();
  const problems: Problem[] = [];
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec(e instanceof Error ? e.message : '');
    const at = m ? position(text, Number(m[1])) : { line: 1, column: 1 };
    problems.push({
      path,
      ...at,
      field: '-',
      message: 'not valid JSON; write an object {"CATEGORY/NAME": seconds, ...}',
    });
    return { durations, problems };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    problems.push({
      path,
      line: 1,
      column: 1,
      field: '-',
      message: 'must be a JSON object {"CATEGORY/NAME": seconds, ...}',
    });
    return { durations, problems };
  }
  let from = 0;
  for (const [origin, value] of Object.entries(data as Record<string, unknown>)) {
    const key = JSON.stringify(origin);
    const found = text.indexOf(key, from);
    const offset = found >= 0 ? found : text.indexOf(key);
    if (found >= 0) from = found + key.length;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      problems.push({
        path,
        ...position(text, Math.max(0, offset)),
        field: origin,
        message: `must be a number of seconds ≥ 0, not ${JSON.stringify(value)}`,
      });
      continue;
    }
    durations.set(origin, value);
  }
  return { durations, problems };
}

/** Per-node durations of `dag`: from `known` by origin, else `fallback` seconds. Also counts the fallbacks. */
export function durationsFor(
  dag: Dag,
  known: ReadonlyMap<string, number>,
  fallback = DEFAULT_DURATION_S,
): { durations: Float64Array; defaulted: number } {
  const durations = new Float64Array(dag.ids.length);
  let defaulted = 0;
  dag.ids.forEach((origin, i) => {
    const d = known.get(origin);
    if (d === undefined) defaulted++;
    durations[i] = d ?? fallback;
  });
  return { durations, defaulted };
}
