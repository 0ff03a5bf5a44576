import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The modules a module imports when it loads: static imports and re-exports, not `import type` nor `import()`. */
function staticImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)';/gm;
  for (const m of text.matchAll(re)) {
    if (m[1]) continue; // `import type …` / `export type …`: erased
    const spec = m[2]!;
    if (!spec.startsWith('.')) {
      out.push(spec);
      continue;
    }
    out.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

/** Every module (files of src/, and package names) loaded with `entry`, as paths relative to src/ and names. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [path.join(SRC, entry)];
  for (let guard = 0; todo.length > 0 && guard < 10_000; guard++) {
    const f = todo.pop()!;
    const key = f.startsWith(SRC) ? path.relative(SRC, f) : f;
    if (seen.has(key)) continue;
    seen.add(key);
    if (f.startsWith(SRC)) todo.push(...staticImports(f));
  }
  return seen;
}

const VALIDATOR = ['zod', 'recipe/schema.ts', 'recipe/parse.ts', 'recipe/index.ts'];

test('the no-op plan loads no validator: the light recipe surface, the tree module and bulk -n’s command', () => {
  for (const entry of ['recipe/light.ts', 'tree/index.ts', 'cli/commands/bulk.ts', 'cli/main.ts']) {
    const mods = closure(entry);
    assert.ok(mods.size > 1 || entry === 'recipe/light.ts', entry);
    for (const v of VALIDATOR) assert.ok(!mods.has(v), `${entry} loads ${v}: ${[...mods].join(' ')}`);
  }
  // The analysis sees through re-exports: the whole recipe surface does load the validator.
  assert.ok(closure('recipe/index.ts').has('zod'));
  assert.ok(closure('tree/load-jobs.ts').has('recipe/parse.ts'));
});

test('code that reads recipes’ parsed keys loads the recipe parser, which lazy recipes need', () => {
  // A lazy recipe from a scan cache parses `sources`, `build`, `install`, `packages` with the parser `parse.ts` sets
  // when it loads; the real bulk (and its remote master), the remote worker and the commands that read those keys
  // load it with them.
  for (const entry of [
    'cli/commands/bulk-run.ts',
    'cli/commands/testport.ts',
    'cli/commands/worker.ts',
    'cli/commands/image.ts',
    'cli/commands/clean.ts',
    'cli/commands/bulk-debian.ts', // a plan over Debian's archive reads the overlay ports' build.system
    'dist/index.ts',
    'bulk/index.ts',
  ]) {
    assert.ok(closure(entry).has('recipe/parse.ts'), entry);
  }
});
