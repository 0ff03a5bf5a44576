/**
 * Per-port option choices of a tree (poudriere's `options`), stored in the state database and validated
 * against each port's recipe. Choices enter every port's build identity.
 */
import path from 'node:path';
import { InputError, KilnError, type Problem } from '../util/errors.js';
import type { Store } from '../store/index.js';
import { effectiveOptions, type Port } from '../recipe/light.js';
import { recipeLoaders } from './recipes.js';
import { locatePort } from './registry.js';
import type { TreeRef } from './ref.js';

/** One choice to make: `ORIGIN:OPTION=on|off`. */
export interface OptionChoice {
  readonly origin: string;
  readonly option: string;
  readonly value: boolean;
}

/** Every stored choice of a tree: origin → option → value. */
export function getOptionChoices(store: Store, tree: string | TreeRef): Map<string, Record<string, boolean>> {
  const out = new Map<string, Record<string, boolean>>();
  for (const r of store.getOptions(typeof tree === 'string' ? tree : tree.name)) {
    let m = out.get(r.origin);
    if (!m) {
      m = {};
      out.set(r.origin, m);
    }
    m[r.option] = r.value;
  }
  return out;
}

/**
 * Loads the ports `origins` of `tree` (from whichever layer provides each). Origins not in the tree throw
 * KILN_E_PORT_NOT_FOUND naming all of them; invalid recipes throw one InputError with every problem.
 */
export async function loadPorts(tree: TreeRef, origins: readonly string[]): Promise<Map<string, Port>> {
  const { loadPort } = await recipeLoaders();
  const missing: string[] = [];
  const problems: Problem[] = [];
  const ports = new Map<string, Port>();
  for (const origin of origins) {
    if (ports.has(origin)) continue;
    let src;
    try {
      src = locatePort(tree, origin);
    } catch (e) {
      if (e instanceof KilnError && e.code === 'KILN_E_PORT_NOT_FOUND') {
        missing.push(origin);
        continue;
      }
      throw e;
    }
    const res = loadPort(path.join(src.layer.dir, src.origin), src.origin, src.layer.name);
    problems.push(...res.problems);
    if (res.port) ports.set(origin, res.port);
  }
  if (missing.length > 0) {
    throw new KilnError('KILN_E_PORT_NOT_FOUND', `not in tree ${tree.name}: ${missing.join(', ')}`, {
      hint: 'an origin is CATEGORY/NAME of a folder with a port.yaml; check the spelling',
    });
  }
  if (problems.length > 0) throw new InputError('KILN_E_RECIPE', problems, 'fix the recipes above and retry');
  return ports;
}

/** Parses `ORIGIN:OPTION=on|off` (as given to `--set`); KILN_E_OPTION when malformed. */
export function parseOptionChoice(text: string): OptionChoice {
  const m = /^([^:=\s]+\/[^:=\s]+):([^=\s]+)=(.*)$/.exec(text);
  if (!m) {
    throw new KilnError('KILN_E_OPTION', `--set ${text}: expected ORIGIN:OPTION=on|off`, {
      hint: 'for example --set devel/hello:NLS=on',
    });
  }
  const v = m[3]!.toLowerCase();
  if (v !== 'on' && v !== 'off') {
    throw new KilnError('KILN_E_OPTION', `--set ${text}: the value must be on or off, not "${m[3]}"`, {
      hint: `write ${m[1]}:${m[2]}=on or =off`,
    });
  }
  return { origin: m[1]!, option: m[2]!, value: v === 'on' };
}

/**
 * Validates and stores choices, all or none: each option must be declared by its port's recipe, and every
 * option that ends up on must have the options it `implies` on too. Throws KILN_E_OPTION listing every
 * mistake (with the valid option names), KILN_E_PORT_NOT_FOUND or KILN_E_RECIPE.
 */
export async function setOptionChoices(store: Store, tree: TreeRef, choices: readonly OptionChoice[]): Promise<void> {
  const ports = await loadPorts(
    tree,
    choices.map((c) => c.origin),
  );
  const stored = getOptionChoices(store, tree);
  const errors: string[] = [];
  const after = new Map<string, Record<string, boolean>>();
  for (const c of choices) {
    const port = ports.get(c.origin)!;
    const declared = Object.keys(port.recipe.options).sort();
    if (!Object.hasOwn(port.recipe.options, c.option)) {
      errors.push(
        `${c.origin} has no option ${c.option} (${declared.length > 0 ? `its options: ${declared.join(', ')}` : 'it declares no options'})`,
      );
      continue;
    }
    const mine = after.get(c.origin) ?? { ...(stored.get(c.origin) ?? {}) };
    mine[c.option] = c.value;
    after.set(c.origin, mine);
  }
  for (const [origin, mine] of after) {
    const recipe = ports.get(origin)!.recipe;
    const eff = effectiveOptions(recipe, mine);
    for (const [name, opt] of Object.entries(recipe.options)) {
      if (!eff[name]) continue;
      for (const need of opt.implies ?? []) {
        if (!eff[need])
          errors.push(
            `${origin}: option ${name} is on, and it implies ${need}, which is off (add --set ${origin}:${need}=on)`,
          );
      }
    }
  }
  if (errors.length > 0) {
    throw new KilnError('KILN_E_OPTION', errors.join('\n'), {
      hint: "see the port's options with `kiln options -p TREE ORIGIN --show`",
    });
  }
  store.setOptions(tree.name, choices);
}

/** Validates and stores one choice; see {@link setOptionChoices}. */
export async function setOptionChoice(
  store: Store,
  tree: TreeRef,
  origin: string,
  option: string,
  value: boolean,
): Promise<void> {
  await setOptionChoices(store, tree, [{ origin, option, value }]);
}

/** One option of one port as `kiln options --show` prints it. */
export interface OptionView {
  readonly name: string;
  readonly default: boolean;
  /** The stored choice, if any. */
  readonly chosen?: boolean;
  /** What the build uses. */
  readonly value: boolean;
  readonly description: string;
}

/** The options of each port in `origins`, with defaults, choices and effective values. */
export async function describeOptions(
  store: Store,
  tree: TreeRef,
  origins: readonly string[],
): Promise<{ origin: string; layer: string; options: OptionView[] }[]> {
  const ports = await loadPorts(tree, origins);
  const stored = getOptionChoices(store, tree);
  return [...ports.values()].map((port) => {
    const chosen = stored.get(port.origin) ?? {};
    const eff = effectiveOptions(port.recipe, chosen);
    const options = Object.entries(port.recipe.options)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, o]) => ({
        name,
        default: o.default,
        ...(Object.hasOwn(chosen, name) ? { chosen: chosen[name]! } : {}),
        value: eff[name] ?? o.default,
        description: o.description,
      }));
    return { origin: port.origin, layer: port.layer, options };
  });
}
