/** `kiln repo list | show | rollback`: the published repositories and their generations. */
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import {
  GpgSigner,
  clientInfo,
  describeRepo,
  keysDir,
  listRepos,
  repoName,
  rollback,
  rotateKey,
  type RepoSummary,
} from '../../repo/index.js';

const HELP = `usage: kiln repo list [--json]
       kiln repo show (NAME | -j JAIL -p TREE) [--url BASE] [--json]
       kiln repo rollback (NAME | -j JAIL -p TREE) [--to N]
       kiln repo key (show | rotate [NAME])

  list      every repository under HOME/repos (NAME is JAIL-TREE) with its served generation
  show      a repository's generations, its sources line and how to fetch its key
            (--url: the base URL clients use, default http://127.0.0.1:8080)
  rollback  serve the previous kept generation again (or generation N); atomic, like a publish
  key show    the signing key's folder and fingerprint (and the old key while a rotation overlaps)
  key rotate  make a new signing key; both keys sign and are in every published keyring until each
              repository has published once, then the old key is deleted (docs/security.md). One key
              signs every repository: NAME, when given, must be one of them`;

/** Handler of `kiln repo VERB ...`. */
export async function repoCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    ctx.out(HELP);
    return verb === undefined ? 2 : 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(HELP);
    return 0;
  }
  if (verb === 'list') return repoList(rest, ctx);
  if (verb === 'show') return repoShow(rest, ctx);
  if (verb === 'rollback') return repoRollback(rest, ctx);
  if (verb === 'key') return repoKey(rest, ctx);
  throw new UsageError(
    `kiln repo: unknown verb "${verb}"`,
    'use one of list, show, rollback, key (`kiln repo --help`)',
  );
}

const PICK = { jail: { type: 'string', short: 'j' }, tree: { type: 'string', short: 'p' } } as const;

function pick(verb: string, pos: string[], jail: string | undefined, tree: string | undefined): string {
  if (pos.length === 1 && jail === undefined && tree === undefined) return pos[0]!;
  if (pos.length === 0 && jail !== undefined && tree !== undefined) return repoName(jail, tree);
  throw new UsageError(
    `kiln repo ${verb}: name one repository, as NAME or with -j JAIL -p TREE`,
    'see `kiln repo list`',
  );
}

function line(r: RepoSummary): string {
  const gens = r.generations.map((g) => (g.current ? `*${g.generation}` : String(g.generation))).join(' ');
  return `${r.name.padEnd(24)} jail ${r.jail}  tree ${r.tree}  ${r.arch}  current ${r.current ?? '-'}  generations ${gens || '-'}`;
}

async function repoList(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('repo list', argv, {});
  if (positionals.length > 0) throw new UsageError('kiln repo list takes no arguments');
  const repos = listRepos(ctx.home);
  if (values.json)
    ctx.out(
      JSON.stringify(
        repos.map(({ dir: _d, ...r }) => ({ ...r, generations: r.generations.map(({ dir: _g, ...g }) => g) })),
      ),
    );
  else if (repos.length === 0) ctx.out('no repository yet (`kiln bulk` publishes one)');
  else for (const r of repos) ctx.out(line(r));
  return 0;
}

async function repoShow(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('repo show', argv, { ...PICK, url: { type: 'string' } });
  const r = describeRepo(ctx.home, pick('show', positionals, values.jail, values.tree));
  const c = clientInfo(r.name, r.jail, values.url ?? 'http://127.0.0.1:8080');
  if (values.json) {
    ctx.out(
      JSON.stringify({
        name: r.name,
        jail: r.jail,
        tree: r.tree,
        arch: r.arch,
        current: r.current,
        generations: r.generations.map(({ dir: _d, ...g }) => g),
        sourcesLine: c.sourcesLine,
        keyUrl: c.keyUrl,
        fetchKey: c.fetchKey,
      }),
    );
    return 0;
  }
  ctx.out(line(r));
  for (const g of r.generations)
    ctx.out(`  ${g.current ? '*' : ' '} gen-${g.generation}  ${g.createdAt}  ${g.packages} packages`);
  ctx.out(`key:     ${c.fetchKey}`);
  ctx.out(`sources: ${c.sourcesLine}`);
  return 0;
}

async function repoRollback(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('repo rollback', argv, { ...PICK, to: { type: 'string' } });
  const name = pick('rollback', positionals, values.jail, values.tree);
  const to = values.to === undefined ? undefined : Number(values.to);
  if (to !== undefined && !Number.isInteger(to))
    throw new UsageError(`kiln repo rollback: --to takes a generation number, got ${values.to}`);
  const r = describeRepo(ctx.home, name);
  const now = rollback(ctx.home, r.jail, r.tree, to);
  ctx.out(`${name}: now serving generation ${now} (was ${r.current ?? 'none'})`);
  return 0;
}

async function repoKey(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('repo key', argv, {});
  const [what, name, ...more] = positionals;
  if (more.length > 0 || (what !== 'show' && what !== 'rotate') || (what === 'show' && name !== undefined)) {
    throw new UsageError('usage: kiln repo key (show | rotate [NAME])', 'see `kiln repo --help`');
  }
  if (name !== undefined) describeRepo(ctx.home, name); // KILN_E_REPO_NOT_FOUND for a name that is no repository
  if (what === 'rotate') {
    const r = await rotateKey(ctx.home);
    if (values.json) ctx.out(JSON.stringify(r));
    else {
      ctx.out(`new signing key ${r.current} in ${r.keyDir}`);
      ctx.out(
        `old key ${r.previous} keeps signing, and both are in the published keyring, until every repository has published once`,
      );
    }
    return 0;
  }
  const signer = await GpgSigner.open(ctx.home);
  try {
    const info = { keyDir: keysDir(ctx.home), fingerprint: signer.fingerprint, previous: signer.previous ?? null };
    if (values.json) ctx.out(JSON.stringify(info));
    else
      ctx.out(
        `key folder ${info.keyDir}\nsigning key ${info.fingerprint}${info.previous ? `\nold key    ${info.previous} (rotation in progress)` : ''}`,
      );
  } finally {
    await signer.close();
  }
  return 0;
}
