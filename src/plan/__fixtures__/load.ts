/**
 * Test helper: loads the fixture tree's `CAT/NAME/port.yaml` files into real `Port`s with the real recipe
 * schema (plain loader, so the plan tests do not depend on the recipe module's error reporting).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { RecipeSchema } from '../../recipe/schema.js';
import type { Port } from '../../recipe/types.js';

/** The fixture tree's folder. */
export const FIXTURE_TREE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tree');

/** Every port of `dir` (default: the fixture tree), by origin. */
export function loadFixturePorts(dir = FIXTURE_TREE): Map<string, Port> {
  const ports = new Map<string, Port>();
  for (const cat of fs.readdirSync(dir).sort()) {
    for (const name of fs.readdirSync(path.join(dir, cat)).sort()) {
      const file = path.join(dir, cat, name, 'port.yaml');
      const bytes = fs.readFileSync(file);
      const recipe = RecipeSchema.parse(parse(bytes.toString('utf8')));
      ports.set(`${cat}/${name}`, {
        origin: `${cat}/${name}`, dir: path.dirname(file), path: file, layer: 'fixture',
        pkgname: recipe.name ?? name, recipe, contentHash: createHash('sha256').update(bytes).digest('hex'),
      });
    }
  }
  return ports;
}
