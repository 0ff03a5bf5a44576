/**
 * Parsing one `port.yaml` (pure: text in, recipe or located problems out).
 *
 * Fast path for the common case, a valid recipe in plain YAML: the subset parser ({@link fastYaml}),
 * the schema (compiled from zod by {@link compileSchema}), the cross-field checks; no positions are tracked. Anything else (a fault, or YAML outside the
 * subset) is parsed again with positions by the full parser, which is authoritative: it accepts the
 * recipe or locates every problem, `PATH:LINE:COLUMN: FIELD: message`.
 */
import { MAX_PRINTED_PROBLEMS, type Problem } from '../util/errors.js';
import {
  decodeUtf8,
  dedupe,
  formatField,
  locate,
  parseYamlPositioned,
  sortProblems,
  zodProblems,
  type PositionedYaml,
} from '../util/yamlpos.js';
import { checkRecipe, type Finding } from './checks.js';
import { FAIL, compileSchema } from './compile.js';
import { fastYaml } from './fastyaml.js';
import { hostileKeyProblems } from './hostile.js';
import { RecipeSchema, type Recipe } from './schema.js';
import { setLazyParser } from './lazy.js';
import { LAZY_KEYS } from './shape.js';

/** zod's recipe validation compiled for the fast path (undefined if the schema outgrew the compiler). */
const fastValidate = compileSchema(RecipeSchema);
/** The same, building only the keys a lazy recipe holds as data (the others are validated, not built). */
const eagerValidate = compileSchema(RecipeSchema, { checkOnly: LAZY_KEYS });

/** What {@link parseRecipe} returns: the recipe (when valid) and every problem found. */
export interface RecipeParse {
  /** The validated recipe, defaults filled in; absent when there are problems. */
  readonly recipe?: Recipe;
  /** Every problem, sorted by position. */
  readonly problems: Problem[];
}

/** Findings → located problems. */
function findingProblems(yaml: PositionedYaml, findings: readonly Finding[]): Problem[] {
  return findings.map((f) => ({
    path: yaml.path,
    ...locate(yaml, f.path, f.mode, f.needle),
    field: formatField(f.path),
    message: f.message,
  }));
}

/**
 * The slow, positioned path: every problem located, or the recipe when there is none. Exported for the
 * tests, which check that it agrees with the fast path; callers use {@link parseRecipe}.
 */
export function parseSlow(text: string, path: string, origin: string): RecipeParse {
  const parsed = parseYamlPositioned(text, path);
  if (parsed.problems.length > 0) return { problems: capped(parsed.problems, 0) };
  const res = RecipeSchema.safeParse(parsed.value);
  // A hostile file can hold 100,000 faults: locate a bounded number, count the rest.
  const issues = res.success ? [] : res.error.issues;
  const findings = checkRecipe(parsed.value, origin);
  const problems = zodProblems(parsed.yaml, issues.slice(0, LOCATED), parsed.value, RecipeSchema);
  problems.push(...findingProblems(parsed.yaml, findings.slice(0, LOCATED)), ...hostileKeyProblems(parsed.yaml));
  if (problems.length === 0 && res.success) return { recipe: res.data, problems };
  const unlocated = Math.max(0, issues.length - LOCATED) + Math.max(0, findings.length - LOCATED);
  return { problems: capped(sortProblems(dedupe(problems)), unlocated) };
}

/** Problems located per kind before the rest are only counted. */
const LOCATED = 200;

/** The first {@link MAX_PRINTED_PROBLEMS} problems, then one `and N more problems` (N counts `extra` unlocated ones too). */
function capped(problems: Problem[], extra: number): Problem[] {
  if (problems.length <= MAX_PRINTED_PROBLEMS && extra === 0) return problems;
  const kept = problems.slice(0, MAX_PRINTED_PROBLEMS);
  const next = problems[MAX_PRINTED_PROBLEMS] ?? kept[kept.length - 1]!;
  const more = problems.length - kept.length + extra;
  kept.push({
    path: next.path,
    line: next.line,
    column: next.column,
    field: '-',
    message: `and ${more} more problems`,
  });
  return kept;
}

/**
 * Parses and checks a recipe. `path` names the file in problems; `origin` (`CATEGORY/NAME`) is needed
 * for the checks that involve the port itself (depending on itself, NAME as package name). Never throws.
 */
export function parseRecipe(text: string | Buffer, path: string, origin: string): RecipeParse {
  let source: string;
  if (typeof text === 'string') source = text;
  else {
    const dec = decodeUtf8(text, path);
    if (dec.text === undefined) return { problems: [dec.problem!] };
    source = dec.text;
  }
  try {
    const data = fastYaml(source);
    if (data !== undefined) {
      const out = fastValidate ? fastValidate(data) : FAIL;
      if (out !== FAIL) {
        if (checkRecipe(data, origin, source).length === 0) return { recipe: out as Recipe, problems: [] };
      } else if (!fastValidate) {
        const res = RecipeSchema.safeParse(data);
        if (res.success && checkRecipe(data, origin, source).length === 0) return { recipe: res.data, problems: [] };
      }
    }
    return parseSlow(source, path, origin);
  } catch (e) {
    // A bug in kiln, not in the recipe; still a located problem rather than a crash of the whole scan.
    return {
      problems: [
        {
          path,
          line: 1,
          column: 1,
          field: '-',
          message: `internal error while reading this recipe: ${e instanceof Error ? e.message : String(e)}`,
        },
      ],
    };
  }
}

/** What {@link parseEager} returns: the eager keys' values (fast path), or a whole recipe, or problems. */
export interface EagerParse extends RecipeParse {
  /** The validated values of the keys a lazy recipe holds as data (`shape.ts`), in schema order. */
  readonly eager?: Readonly<Record<string, unknown>>;
}

/**
 * {@link parseRecipe} for a lazy recipe (`lazy.ts`): on the fast path, every key is validated but only the
 * eager ones are built (`eager`); otherwise the positioned path's answer (`recipe` or `problems`).
 */
export function parseEager(text: string, path: string, origin: string): EagerParse {
  try {
    const data = eagerValidate ? fastYaml(text) : undefined;
    if (data !== undefined) {
      const out = eagerValidate!(data);
      if (out !== FAIL && checkRecipe(data, origin, text).length === 0)
        return { eager: out as Record<string, unknown>, problems: [] };
    }
    return parseRecipe(text, path, origin);
  } catch (e) {
    return {
      problems: [
        {
          path,
          line: 1,
          column: 1,
          field: '-',
          message: `internal error while reading this recipe: ${e instanceof Error ? e.message : String(e)}`,
        },
      ],
    };
  }
}

// A lazy recipe parses its text with this module's parser when first read (lazy.ts holds no validator).
setLazyParser(parseRecipe);

export { effectiveOptions, locateField } from './read.js';
