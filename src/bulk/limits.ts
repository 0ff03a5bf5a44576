/** A port's limits under the operator's: kiln.yaml's limits are ceilings a recipe may only lower. */
import type { Limits } from '../sandbox/index.js';
import type { Port } from '../recipe/index.js';

/** A port's limits: its recipe's `build.limits` may only lower the operator's (kiln.yaml's are ceilings). */
export function portLimits(global: Limits, port: Port): Limits {
  const l = port.recipe.build.limits;
  const min = (g: number | undefined, r: number | undefined): number | undefined =>
    r === undefined ? g : g === undefined ? r : Math.min(g, r);
  const at = (k: keyof Limits, v: number | undefined): Partial<Limits> => (v === undefined ? {} : { [k]: v });
  return {
    ...global,
    ...at('wallMs', min(global.wallMs, l.wall_s === undefined ? undefined : l.wall_s * 1000)),
    ...at('cpuSeconds', min(global.cpuSeconds, l.cpu_s)),
    ...at('noOutputMs', min(global.noOutputMs, l.no_output_s === undefined ? undefined : l.no_output_s * 1000)),
    ...at('memoryBytes', min(global.memoryBytes, l.memory_mb === undefined ? undefined : l.memory_mb * 1024 * 1024)),
  };
}

/** Log lines for each recipe limit above kiln.yaml's, which {@link portLimits} clamped. */
export function limitNotes(global: Limits, port: Port): string[] {
  const l = port.recipe.build.limits;
  const rows: [string, number | undefined, number | undefined, string][] = [
    ['wall_s', l.wall_s, global.wallMs === undefined ? undefined : global.wallMs / 1000, 's'],
    ['cpu_s', l.cpu_s, global.cpuSeconds, 'CPU s'],
    ['no_output_s', l.no_output_s, global.noOutputMs === undefined ? undefined : global.noOutputMs / 1000, 's'],
    ['memory_mb', l.memory_mb, global.memoryBytes === undefined ? undefined : global.memoryBytes / 1048576, 'MiB'],
  ];
  return rows
    .filter(([, r, g]) => r !== undefined && g !== undefined && r > g)
    .map(
      ([k, r, g, unit]) =>
        `limits: the recipe asks ${k} ${r}, above kiln.yaml's ${g} ${unit}; using ${g} (kiln.yaml's limits are ceilings)`,
    );
}
