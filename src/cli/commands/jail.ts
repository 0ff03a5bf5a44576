/** `kiln jail create | update | list | delete`: Debian roots builds run over. */
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import { openStore } from '../../store/index.js';
import { createJail, deleteJail, jailSuites, listJails, updateJail } from '../../jail/index.js';

const HELP = `usage: kiln jail create NAME [--release CODENAME|SUITE] [--arch amd64|arm64] [--mirror URL] [--include PKG,...] [--no-updates]
       kiln jail update NAME
       kiln jail list [--json]
       kiln jail delete NAME

  create   make a Debian root with mmdebstrap (variant buildd) under HOME/jails/NAME, with the build user
           "kiln" (uid 2000) and a manifest of its packages; the mirror (and the security archive) default
           to the host's apt sources; the release defaults to the codename the mirror's "stable" names today
           (trixie, forky, sid, or a suite such as testing, all work); the jail has REL, REL-updates and
           REL-security (sid: REL alone), or REL alone with --no-updates (a frozen jail)
  update   apt-get update and upgrade inside the jail (from its suites); a changed package set changes the
           jail's identity, so every port built in it is rebuilt (bulk -n --explain: "jail changed")
  list     the jails, with release, arch, identity and suites
  delete   remove a jail (refused while a build's sandbox is mounted over it)`;

/** Handler of `kiln jail VERB ...`. */
export async function jailCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    ctx.out(HELP);
    return verb === undefined ? 2 : 0;
  }
  const verbs: Record<string, (rest: string[], ctx: CliContext) => Promise<number>> = {
    create: jailCreate,
    update: jailUpdate,
    list: jailList,
    delete: jailDelete,
  };
  const fn = verbs[verb];
  if (!fn)
    throw new UsageError(
      `kiln jail: unknown verb "${verb}"`,
      'use one of create, update, list, delete (`kiln jail --help`)',
    );
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(HELP);
    return 0;
  }
  return fn(rest, ctx);
}

function one(verb: string, pos: string[]): string {
  if (pos.length !== 1)
    throw new UsageError(
      `kiln jail ${verb}: expected NAME, got ${pos.length === 0 ? 'none' : pos.join(' ')}`,
      'see `kiln jail --help`',
    );
  return pos[0]!;
}

async function jailCreate(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('jail create', argv, {
    release: { type: 'string' },
    arch: { type: 'string' },
    mirror: { type: 'string' },
    include: { type: 'string', multiple: true },
    'no-updates': { type: 'boolean' },
  });
  const name = one('create', positionals);
  const include = (values.include ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  const store = openStore(ctx.home);
  try {
    const j = await createJail(
      {
        home: ctx.home,
        store,
        name,
        release: values.release,
        arch: values.arch,
        mirror: values.mirror,
        include,
        updates: values['no-updates'] !== true,
      },
      (line) => ctx.err(line),
    );
    if (values.json) ctx.out(JSON.stringify(j));
    else ctx.out(`jail ${j.name} created: ${j.release} ${j.arch} at ${j.path}, identity ${j.identity.slice(0, 12)}`);
    return 0;
  } finally {
    store.close();
  }
}

async function jailUpdate(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('jail update', argv, {});
  const name = one('update', positionals);
  const store = openStore(ctx.home);
  try {
    const r = await updateJail({ home: ctx.home, store, name }, (line) => ctx.err(line));
    if (values.json) ctx.out(JSON.stringify({ ...r.record, changed: r.changed, changes: r.changes }));
    else
      ctx.out(
        r.changed
          ? `jail ${name} updated: ${r.changes.length} package(s) changed, identity now ${r.record.identity.slice(0, 12)}`
          : `jail ${name} is up to date (identity ${r.record.identity.slice(0, 12)})`,
      );
    return 0;
  } finally {
    store.close();
  }
}

async function jailList(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('jail list', argv, {});
  if (positionals.length > 0) throw new UsageError('kiln jail list: takes no arguments', 'see `kiln jail --help`');
  const store = openStore(ctx.home);
  try {
    const jails = listJails(store);
    if (values.json) {
      ctx.out(JSON.stringify(jails.map((j) => ({ ...j, suites: jailSuites(j.path) }))));
      return 0;
    }
    if (jails.length === 0) {
      ctx.out('no jails; make one with `kiln jail create NAME`');
      return 0;
    }
    const rows = [
      ['NAME', 'RELEASE', 'ARCH', 'IDENTITY', 'UPDATED', 'SUITES'],
      ...jails.map((j) => [
        j.name,
        j.release,
        j.arch,
        j.identity.slice(0, 12),
        j.updated,
        jailSuites(j.path).join(' ') || '-',
      ]),
    ];
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      ctx.out(
        r
          .map((c, i) => c.padEnd(w[i]!))
          .join('  ')
          .trimEnd(),
      );
    return 0;
  } finally {
    store.close();
  }
}

async function jailDelete(argv: string[], ctx: CliContext): Promise<number> {
  const { positionals } = parseCommand('jail delete', argv, {});
  const name = one('delete', positionals);
  const store = openStore(ctx.home);
  try {
    await deleteJail({ home: ctx.home, store, name });
    ctx.out(`jail ${name} deleted`);
    return 0;
  } finally {
    store.close();
  }
}
