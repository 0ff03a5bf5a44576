/**
 * Reading validated recipes: what planning asks of a recipe it already has. Pure, and free of the validator
 * (a no-op plan loads this, not the schema).
 */
import { locate, parseYamlPositioned, type FieldPath, type Position } from '../util/yamlpos.js';
import type { Recipe } from './schema.js';

/**
 * Where `field` (`['depends', 'build', 2]`) is in a recipe's text, 1-based; the nearest existing
 * ancestor when the field itself is absent. `path` is the file's name (kept for symmetry with problems).
 */
export function locateField(path: string, text: string, field: FieldPath): Position {
  const parsed = parseYamlPositioned(text, path);
  return locate(parsed.yaml, field, 'value');
}

/**
 * The options of a recipe as a build sees them: each declared option's default, overridden by
 * `choices`; choices for options the recipe does not declare are ignored. Keys in sorted order. Pure.
 */
export function effectiveOptions(recipe: Recipe, choices: Readonly<Record<string, boolean>>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const name of Object.keys(recipe.options).sort()) {
    const chosen = Object.prototype.hasOwnProperty.call(choices, name) ? choices[name] : undefined;
    out[name] = typeof chosen === 'boolean' ? chosen : recipe.options[name]!.default;
  }
  return out;
}
