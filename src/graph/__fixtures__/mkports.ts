/** Test helper: real `Port` objects (validated by the real recipe schema) from a compact dependency map. */
import { createHash } from 'node:crypto';
import { RecipeSchema } from '../../recipe/schema.js';
import type { Port } from '../../recipe/types.js';

/** One port's dependencies: `[build, run]`, or just build as a plain list. */
export type Spec = Record<string, readonly string[] | { build?: readonly string[]; run?: readonly string[]; options?: Record<string, boolean>; version?: string }>;

const base = RecipeSchema.parse({ version: '1.0', summary: 'test port', build: { system: 'make' } });

/** Builds a Map origin → Port; recipes share one validated base and differ in `depends` (fast for 100k nodes). */
export function mkports(spec: Spec): Map<string, Port> {
  const ports = new Map<string, Port>();
  for (const [origin, s] of Object.entries(spec)) {
    const o = Array.isArray(s) ? { build: s as readonly string[] } : (s as Exclude<Spec[string], readonly string[]>);
    const options = Object.fromEntries(Object.entries(o.options ?? {}).map(([k, v]) => [k, { default: v, description: k }]));
    const recipe = { ...base, version: o.version ?? base.version, options, depends: { ...base.depends, build: [...(o.build ?? [])], run: [...(o.run ?? [])] } };
    const contentHash = createHash('sha256').update(JSON.stringify(recipe)).digest('hex');
    ports.set(origin, {
      origin, dir: `/t/${origin}`, path: `/t/${origin}/port.yaml`, layer: 't',
      pkgname: origin.split('/')[1]!, recipe, contentHash,
    });
  }
  return ports;
}
