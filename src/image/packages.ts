/** The package names of a list file's origins, from the tree's recipes (`recipe.name`, else the origin's NAME). */
import fs from 'node:fs';
import path from 'node:path';
import { InputError, KilnError } from '../util/errors.js';
import { parseList } from '../recipe/index.js';
import { resolveTree, scanTree } from '../tree/index.js';
import type { Store } from '../store/index.js';

/** What {@link listPackages} found. */
export interface ListPackages {
  /** The tree's name (the repository is that of (jail, tree)). */
  readonly tree: string;
  /** Origin and package name of each listed port, in list order. */
  readonly ports: readonly { readonly origin: string; readonly pkgname: string }[];
}

/**
 * Resolves `-p TREE -f LIST`: every origin of the list must be a loadable port of the tree; located list problems
 * are reported together (KILN_E_LIST), origins not in the tree as KILN_E_PORT_NOT_FOUND.
 */
export async function listPackages(
  store: Store,
  treeArg: string,
  listFile: string,
  cwd: string,
): Promise<ListPackages> {
  const tree = resolveTree(store, treeArg, cwd);
  const file = path.resolve(cwd, listFile);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new KilnError('KILN_E_LIST', `cannot read the list file ${file}`, {
      hint: 'give a file with one origin per line',
      exitCode: 2,
    });
  }
  const list = parseList(text, file);
  if (list.problems.length > 0) throw new InputError('KILN_E_LIST', list.problems);
  const scan = await scanTree(tree);
  const absent = list.origins.filter((o) => !scan.ports.has(o));
  if (absent.length > 0) {
    throw new KilnError('KILN_E_PORT_NOT_FOUND', `not in tree ${tree.name}: ${absent.join(', ')}`, {
      hint: `see \`kiln tree list\`; fix ${file}`,
      exitCode: 2,
    });
  }
  return { tree: tree.name, ports: list.origins.map((o) => ({ origin: o, pkgname: scan.ports.get(o)!.pkgname })) };
}
