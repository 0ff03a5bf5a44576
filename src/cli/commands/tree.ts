/** `kiln tree add | update | list | show | delete`: registered ports trees. */
import path from 'node:path';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import { openStore } from '../../store/index.js';
import {
  addTree,
  deleteTree,
  getTree,
  listTrees,
  loadArchiveLookup,
  showPort,
  treesDir,
  updateTree,
} from '../../tree/index.js';

const HELP = `usage: kiln tree add NAME (--path DIR | --git URL [--branch B] | --overlay LOWER,...,UPPER
                           | --debian RELEASE [--component C] [--arch A,...] [--mirror URL] [--no-updates])
       kiln tree update NAME
       kiln tree list [--json]
       kiln tree show NAME ORIGIN [--json]
       kiln tree delete NAME

  add      register a tree: a folder you own (--path), a git clone kept under HOME/trees/NAME (--git),
           or a stack of registered trees and folders, lowest first (--overlay); a port in a higher
           layer replaces the same origin below, whole; or Debian's source archive (--debian): every source
           package of RELEASE is a port SECTION/SOURCE (e.g. utils/jq), at its highest version in RELEASE,
           RELEASE-updates and RELEASE-security (--no-updates: RELEASE alone; a suite such as stable is
           recorded as the codename it names today), built with dpkg-buildpackage; lay your
           own tree over it (--overlay DEBIANTREE,DIR) to add patches and options (build.system: debian)
  update   fetch and reset a git tree to its branch, re-check a folder, refresh a Debian tree's index,
           or each of these for every overlay layer
  list     the registered trees
  show     which layer provides ORIGIN, and which lower layers it shadows
  delete   unregister a tree (and remove kiln's git clone; a --path folder is never touched)`;

/** Handler of `kiln tree VERB ...`. */
export async function treeCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    ctx.out(HELP);
    return verb === undefined ? 2 : 0;
  }
  const verbs: Record<string, (rest: string[], ctx: CliContext) => Promise<number>> = {
    add: treeAdd,
    update: treeUpdate,
    list: treeList,
    show: treeShow,
    delete: treeDelete,
  };
  const fn = verbs[verb];
  if (!fn)
    throw new UsageError(
      `kiln tree: unknown verb "${verb}"`,
      'use one of add, update, list, show, delete (`kiln tree --help`)',
    );
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(HELP);
    return 0;
  }
  return fn(rest, ctx);
}

function positionals(verb: string, got: string[], want: string[]): string[] {
  if (got.length !== want.length) {
    throw new UsageError(
      `kiln tree ${verb}: expected ${want.length === 0 ? 'no arguments' : want.join(' ')}, got ${got.length === 0 ? 'none' : got.join(' ')}`,
      'see `kiln tree --help`',
    );
  }
  return got;
}

async function treeAdd(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals: pos } = parseCommand('tree add', argv, {
    path: { type: 'string' },
    git: { type: 'string' },
    branch: { type: 'string' },
    overlay: { type: 'string' },
    debian: { type: 'string' },
    component: { type: 'string' },
    arch: { type: 'string' },
    mirror: { type: 'string' },
    'no-updates': { type: 'boolean' },
  });
  if (
    ((values.component ?? values.arch ?? values.mirror) !== undefined || values['no-updates']) &&
    values.debian === undefined
  ) {
    throw new UsageError('kiln tree add: --component, --arch, --mirror and --no-updates go with --debian RELEASE');
  }
  const [name] = positionals('add', pos, ['NAME']);
  const store = openStore(ctx.home);
  try {
    const rec = await addTree(store, ctx.home, {
      name: name!,
      path: values.path,
      git: values.git,
      branch: values.branch,
      overlay: values.overlay,
      cwd: ctx.cwd,
      debian: values.debian,
      component: values.component,
      mirror: values.mirror,
      ...(values['no-updates'] ? { updates: false } : {}),
      ...(values.arch !== undefined
        ? {
            arches: values.arch
              .split(',')
              .map((a) => a.trim())
              .filter(Boolean),
          }
        : {}),
    });
    const s = rec.spec;
    if (s.kind === 'path') ctx.out(`tree ${rec.name} added: folder ${s.path}`);
    else if (s.kind === 'git')
      ctx.out(
        `tree ${rec.name} added: ${s.url} branch ${s.branch} at ${s.commit?.slice(0, 12) ?? '?'}, cloned in ${s.dir}`,
      );
    else if (s.kind === 'debian')
      ctx.out(
        `tree ${rec.name} added: Debian ${s.release} ${s.component}${s.updates === false || s.release === 'sid' ? ' (release alone)' : ` with ${s.release}-updates and -security`}, indexed in ${s.dir} (Provides for ${s.arches.join(', ')})`,
      );
    else {
      const info = listTrees(store).find((t) => t.name === rec.name)!;
      ctx.out(
        `tree ${rec.name} added: overlay of ${info.source}; layers, lowest first: ${info.layers.map((l) => l.name).join(', ')}`,
      );
    }
    return 0;
  } finally {
    store.close();
  }
}

async function treeUpdate(argv: string[], ctx: CliContext): Promise<number> {
  const { positionals: pos } = parseCommand('tree update', argv, {});
  const [name] = positionals('update', pos, ['NAME']);
  const store = openStore(ctx.home);
  try {
    for (const u of await updateTree(store, ctx.home, name!)) {
      ctx.out(
        u.kind === 'git'
          ? `${u.name}: at ${u.commit!.slice(0, 12)}`
          : u.kind === 'path'
            ? `${u.name}: folder checked`
            : u.kind === 'debian'
              ? `${u.name}: index refreshed, ${u.sources ?? 0} source packages`
              : `${u.name}: overlay updated`,
      );
    }
    return 0;
  } finally {
    store.close();
  }
}

async function treeList(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals: pos } = parseCommand('tree list', argv, {});
  positionals('list', pos, []);
  const store = openStore(ctx.home);
  try {
    const trees = listTrees(store);
    if (values.json) {
      ctx.out(
        JSON.stringify(
          trees.map((t) => ({
            name: t.name,
            kind: t.spec.kind,
            source: t.source,
            spec: t.spec,
            layers: t.layers,
            created: t.created,
            updated: t.updated,
          })),
          null,
          2,
        ),
      );
      return 0;
    }
    if (trees.length === 0) {
      ctx.out('no trees registered (add one with `kiln tree add NAME --path DIR`)');
      return 0;
    }
    const rows = [
      ['NAME', 'KIND', 'UPDATED', 'SOURCE'],
      ...trees.map((t) => [t.name, t.spec.kind, t.updated.slice(0, 19).replace('T', ' '), t.source]),
    ];
    ctx.out(table(rows));
    return 0;
  } finally {
    store.close();
  }
}

async function treeShow(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals: pos } = parseCommand('tree show', argv, {});
  const [name, origin] = positionals('show', pos, ['NAME', 'ORIGIN']);
  const store = openStore(ctx.home);
  try {
    getTree(store, name!);
    await loadArchiveLookup();
    const src = showPort(store, name!, origin!);
    const dir = path.join(src.layer.dir, src.origin);
    if (values.json) {
      ctx.out(
        JSON.stringify(
          {
            tree: name,
            origin: src.origin,
            layer: src.layer.name,
            dir,
            ...(src.debian ? { debian: src.debian } : {}),
            shadows: src.shadows.map((l) => ({ layer: l.name, dir: path.join(l.dir, src.origin) })),
          },
          null,
          2,
        ),
      );
      return 0;
    }
    if (src.debian && src.layer.debian) {
      const d = src.debian;
      ctx.out(
        `${src.origin}: Debian ${src.layer.debian.release} source package ${d.package} ${d.version} (binaries: ${d.binaries.join(', ')}), from layer ${src.layer.name}`,
      );
    } else ctx.out(`${src.origin}: from layer ${src.layer.name} (${dir})`);
    for (const l of src.shadows) {
      ctx.out(
        l.debian && src.debian
          ? `  shadows layer ${l.name} (Debian ${l.debian.release} source package ${src.debian.package} ${src.debian.version})`
          : `  shadows layer ${l.name} (${path.join(l.dir, src.origin)})`,
      );
    }
    return 0;
  } finally {
    store.close();
  }
}

async function treeDelete(argv: string[], ctx: CliContext): Promise<number> {
  const { positionals: pos } = parseCommand('tree delete', argv, {});
  const [name] = positionals('delete', pos, ['NAME']);
  const store = openStore(ctx.home);
  try {
    const rec = getTree(store, name!);
    deleteTree(store, ctx.home, name!);
    ctx.out(
      rec.spec.kind === 'git' || rec.spec.kind === 'debian'
        ? `tree ${name} deleted; removed its ${rec.spec.kind === 'git' ? 'clone' : 'index'} under ${treesDir(ctx.home)}`
        : rec.spec.kind === 'path'
          ? `tree ${name} deleted; folder ${rec.spec.path} left as it is`
          : `overlay ${name} deleted; its layers are left as they are`,
    );
    return 0;
  } finally {
    store.close();
  }
}

/** Left-aligned columns separated by two spaces. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
