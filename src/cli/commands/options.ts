/** `kiln options -p TREE (-f LIST | ORIGIN...) [--set ORIGIN:OPT=on|off ...] [--show]`: per-port option choices. */
import fs from 'node:fs';
import path from 'node:path';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { InputError, KilnError, UsageError } from '../../util/errors.js';
import { openStore } from '../../store/index.js';
import { parseList } from '../../recipe/index.js';
import {
  describeOptions,
  loadArchiveLookup,
  parseOptionChoice,
  resolveTree,
  setOptionChoices,
} from '../../tree/index.js';
import { table } from './tree.js';

const HELP = `usage: kiln options -p TREE (-f LIST | ORIGIN...) [--set ORIGIN:OPT=on|off ...] [--show] [--json]

  Stores per-port option choices for a tree (they enter each port's build identity) and shows them.
  -p TREE             a registered tree name or a path to a tree folder
  -f LIST             a list file: one origin per line, # comments
  --set O:OPT=on|off  choose a value (repeatable); checked against the port's recipe, all or nothing
  --show              print each port's options: default, chosen value, value used, description
                      (the default when no --set is given)`;

/** Handler of `kiln options`. */
export async function optionsCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('options', argv, {
    tree: { type: 'string', short: 'p' },
    file: { type: 'string', short: 'f' },
    set: { type: 'string', multiple: true },
    show: { type: 'boolean', default: false },
  });
  if (values.help) {
    ctx.out(HELP);
    return 0;
  }
  if (values.tree === undefined) throw new UsageError('kiln options: -p TREE is required', 'see `kiln options --help`');
  const origins = [...positionals];
  if (values.file !== undefined) {
    const file = path.resolve(ctx.cwd, values.file);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new KilnError('KILN_E_LIST', `cannot read list file ${values.file}: ${(e as Error).message}`, {
        hint: 'give -f the path of a list file',
      });
    }
    const list = parseList(text, values.file);
    if (list.problems.length > 0) throw new InputError('KILN_E_LIST', list.problems, 'fix the list file and retry');
    origins.push(...list.origins);
  }
  const sets = (values.set ?? []).map(parseOptionChoice);
  if (origins.length === 0 && sets.length === 0) {
    throw new UsageError(
      'kiln options: name the ports (-f LIST or ORIGIN...) or give --set ORIGIN:OPT=on|off',
      'see `kiln options --help`',
    );
  }
  const store = openStore(ctx.home);
  try {
    const tree = resolveTree(store, values.tree, ctx.cwd);
    await loadArchiveLookup();
    if (sets.length > 0) {
      await setOptionChoices(store, tree, sets);
      if (!values.json)
        for (const s of sets) ctx.out(`${tree.name}: ${s.origin}:${s.option}=${s.value ? 'on' : 'off'}`);
    }
    if (!values.show && sets.length > 0 && !values.json) return 0;
    const shown = origins.length > 0 ? origins : [...new Set(sets.map((s) => s.origin))];
    const views = await describeOptions(store, tree, shown);
    if (values.json) {
      ctx.out(
        JSON.stringify(
          views.map((v) => ({ ...v, options: v.options.map((o) => ({ ...o, chosen: o.chosen ?? null })) })),
          null,
          2,
        ),
      );
      return 0;
    }
    const onOff = (b: boolean): string => (b ? 'on' : 'off');
    ctx.out(
      views
        .map((v) => {
          const head = `${v.origin} (layer ${v.layer})`;
          if (v.options.length === 0) return `${head}\n  no options`;
          const rows = [
            ['OPTION', 'DEFAULT', 'CHOSEN', 'VALUE', 'DESCRIPTION'],
            ...v.options.map((o) => [
              o.name,
              onOff(o.default),
              o.chosen === undefined ? '-' : onOff(o.chosen),
              onOff(o.value),
              o.description,
            ]),
          ];
          return `${head}\n${table(rows)
            .split('\n')
            .map((l) => `  ${l}`.trimEnd())
            .join('\n')}`;
        })
        .join('\n'),
    );
    return 0;
  } finally {
    store.close();
  }
}
