/**
 * A repository's generations on disk (`HOME/repos/JAIL-TREE/gen-N/`, `current` → `gen-N`), the publish lock,
 * listing, rollback, and the `deb [signed-by=...]` line a client needs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { pidAlive } from './pool.js';
import { parseControl } from './control.js';

/** File name of the public keyring beside the repository and in every generation. */
export const KEYRING_FILE = 'kiln-archive-keyring.gpg';
/** File name of the armored public key. */
export const KEYRING_ASC_FILE = 'kiln-archive-keyring.asc';
/** Metadata file of a repository (`repo.json`) and of a generation (`kiln-generation.json`). */
export const REPO_META_FILE = 'repo.json';
export const GENERATION_META_FILE = 'kiln-generation.json';

/** What `repo.json` holds. */
export interface RepoMeta {
  readonly jail: string;
  readonly tree: string;
  readonly arch: string;
}

/** What `kiln-generation.json` in each generation holds. */
export interface GenerationMeta {
  readonly generation: number;
  readonly createdAt: string;
  readonly packages: number;
  /** Packages of the debug suite, when the generation has one. */
  readonly debugPackages?: number;
}

/** The suite debug symbol packages are published in (`JAIL-debug`, as Debian's `bookworm-debug`). */
export function debugSuite(jail: string): string {
  return `${jail}-debug`;
}

/** One generation as listed. */
export interface GenerationInfo extends GenerationMeta {
  readonly dir: string;
  readonly current: boolean;
}

/** A repository as listed. */
export interface RepoSummary extends RepoMeta {
  readonly name: string;
  readonly dir: string;
  /** The served generation, or null when none is published. */
  readonly current: number | null;
  readonly generations: readonly GenerationInfo[];
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/**
 * The repository (and packages folder) name of a (jail, tree) pair: `JAIL-TREE` with each `-` of JAIL doubled, so
 * no two pairs share a name (jail `bookworm` + tree `q-t` is `bookworm-q-t`, jail `bookworm-q` + tree `t` is
 * `bookworm--q-t`): the jail ends at the first run of dashes of odd length. A jail without `-` keeps `JAIL-TREE`.
 */
export function repoName(jail: string, tree: string): string {
  if (!NAME_RE.test(jail) || !NAME_RE.test(tree)) {
    throw new KilnError(
      'KILN_E_REPO',
      `bad jail or tree name for a repository: ${JSON.stringify(jail)}, ${JSON.stringify(tree)}`,
      { hint: 'jail and tree names use letters, digits, and . _ + - (starting with a letter or digit)', exitCode: 2 },
    );
  }
  return `${jail.replace(/-/g, '--')}-${tree}`;
}

/** The (jail, tree) pair a {@link repoName} stands for, or undefined for a name no pair has. */
export function parseRepoName(name: string): { jail: string; tree: string } | undefined {
  const m = /^((?:[^-]|--)*?)-(?!-)(.*)$/.exec(name);
  if (!m) return undefined;
  const jail = m[1]!.replace(/--/g, '-');
  const tree = m[2]!;
  if (!NAME_RE.test(jail) || !NAME_RE.test(tree)) return undefined;
  return repoName(jail, tree) === name ? { jail, tree } : undefined;
}

/**
 * Renames repository folders made before names were keyed (`JAIL-TREE` for a jail with `-`) to their
 * {@link repoName}, going by each folder's `repo.json`. A folder whose new name is taken is left alone (and a
 * publish to it is refused, see {@link checkRepoOwner}). Returns the renames done.
 */
export function migrateRepoNames(home: string): { from: string; to: string }[] {
  const done: { from: string; to: string }[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(reposDir(home));
  } catch {
    return done;
  }
  for (const n of names) {
    const meta = readJson<RepoMeta>(path.join(repoDir(home, n), REPO_META_FILE));
    if (!meta || !NAME_RE.test(meta.jail) || !NAME_RE.test(meta.tree)) continue;
    const want = repoName(meta.jail, meta.tree);
    if (want === n || fs.existsSync(repoDir(home, want))) continue;
    try {
      fs.renameSync(repoDir(home, n), repoDir(home, want));
      done.push({ from: n, to: want });
    } catch {
      /* raced */
    }
  }
  return done;
}

/** Refuses to publish (jail, tree) into a folder whose `repo.json` names another pair. */
export function checkRepoOwner(dir: string, jail: string, tree: string): void {
  const meta = readJson<RepoMeta>(path.join(dir, REPO_META_FILE));
  if (meta && (meta.jail !== jail || meta.tree !== tree)) {
    throw new KilnError(
      'KILN_E_REPO',
      `repository folder ${dir} belongs to jail ${meta.jail} and tree ${meta.tree}, not jail ${jail} and tree ${tree}`,
      {
        hint: 'the two pairs would share one repository; rename one jail or tree (kiln keeps names apart by doubling the dashes of jail names)',
        exitCode: 2,
      },
    );
  }
}

/** Is `name` a well-formed repository name (no path separators, no leading dot)? */
export function isRepoName(name: string): boolean {
  return NAME_RE.test(name);
}

/** `HOME/repos`. */
export function reposDir(home: string): string {
  return path.join(home, 'repos');
}

/** `HOME/repos/NAME`. */
export function repoDir(home: string, name: string): string {
  return path.join(reposDir(home), name);
}

/** Generation folder name. */
export function genDirName(n: number): string {
  return `gen-${n}`;
}

/** The generation number a `gen-N` name (or a `current` link target) stands for, or null. */
export function parseGenName(name: string): number | null {
  const m = /^gen-(\d+)$/.exec(path.basename(name));
  return m ? Number(m[1]) : null;
}

/** The generation `current` points at, or null. */
export function currentGeneration(dir: string): number | null {
  try {
    return parseGenName(fs.readlinkSync(path.join(dir, 'current')));
  } catch {
    return null;
  }
}

/** Complete generations (`gen-N` folders) of a repository folder, ascending. */
export function generationNumbers(dir: string): number[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map(parseGenName)
    .filter((n): n is number => n !== null)
    .sort((a, b) => a - b);
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Lists one repository folder's generations. */
export function describeRepo(home: string, name: string): RepoSummary {
  const dir = repoDir(home, name);
  const meta = readJson<RepoMeta>(path.join(dir, REPO_META_FILE));
  if (!isRepoName(name) || !meta) {
    throw new KilnError('KILN_E_REPO_NOT_FOUND', `no repository ${name} under ${reposDir(home)}`, {
      hint: 'see `kiln repo list`',
      exitCode: 2,
    });
  }
  const current = currentGeneration(dir);
  const generations = generationNumbers(dir).map((n): GenerationInfo => {
    const g = readJson<GenerationMeta>(path.join(dir, genDirName(n), GENERATION_META_FILE));
    return {
      generation: n,
      createdAt: g?.createdAt ?? '',
      packages: g?.packages ?? 0,
      dir: path.join(dir, genDirName(n)),
      current: n === current,
    };
  });
  return { name, dir, jail: meta.jail, tree: meta.tree, arch: meta.arch, current, generations };
}

/** Every repository under `HOME/repos`, by name. */
export function listRepos(home: string): RepoSummary[] {
  migrateRepoNames(home);
  let names: string[] = [];
  try {
    names = fs.readdirSync(reposDir(home)).sort();
  } catch {
    return [];
  }
  return names
    .filter((n) => isRepoName(n) && fs.existsSync(path.join(repoDir(home, n), REPO_META_FILE)))
    .map((n) => describeRepo(home, n));
}

/** Generations of the (jail, tree) repository, ascending. */
export function listGenerations(home: string, jail: string, tree: string): GenerationInfo[] {
  return [...describeRepo(home, repoName(jail, tree)).generations];
}

/** Points `current` at `gen-N` atomically: a `current.tmp` symlink renamed over `current`. */
export function switchCurrent(dir: string, n: number): void {
  const tmp = path.join(dir, 'current.tmp');
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(genDirName(n), tmp);
  fs.renameSync(tmp, path.join(dir, 'current'));
}

/**
 * Serves the previous generation again (or `to` when given). Returns the generation now served.
 * Takes the publish lock so it never races a publish.
 */
export function rollback(home: string, jail: string, tree: string, to?: number): number {
  const summary = describeRepo(home, repoName(jail, tree));
  const release = acquireLock(summary.dir);
  try {
    const nums = summary.generations.map((g) => g.generation);
    const target = to ?? [...nums].reverse().find((n) => summary.current === null || n < summary.current);
    if (target === undefined || !nums.includes(target)) {
      throw new KilnError(
        'KILN_E_REPO_NOT_FOUND',
        to === undefined
          ? `${summary.name} has no generation before ${summary.current}`
          : `${summary.name} has no generation ${to}`,
        { hint: `kept generations: ${nums.join(', ') || 'none'}`, exitCode: 2 },
      );
    }
    switchCurrent(summary.dir, target);
    return target;
  } finally {
    release();
  }
}

/**
 * Takes the per-repository publish lock (`.kiln/lock`, holding the pid). A lock left by a dead process is taken
 * over. Returns the release function.
 */
export function acquireLock(dir: string): () => void {
  const lockDir = path.join(dir, '.kiln');
  fs.mkdirSync(lockDir, { recursive: true });
  const lock = path.join(lockDir, 'lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => {
        try {
          if (fs.readFileSync(lock, 'utf8') === String(process.pid)) fs.rmSync(lock);
        } catch {
          /* gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number(fs.readFileSync(lock, 'utf8'));
      } catch {
        /* raced away */
      }
      if (pidAlive(holder) && holder !== process.pid) {
        throw new KilnError('KILN_E_LOCK', `process ${holder} is publishing ${dir}`, {
          hint: 'wait for it to finish',
          exitCode: 1,
        });
      }
      // Stale (the holder died, e.g. killed mid-publish) or empty (killed between open and write): take it over.
      // Take-over by rename so two late-comers cannot both delete a fresh lock.
      const stale = `${lock}.stale-${process.pid}`;
      try {
        fs.renameSync(lock, stale);
        fs.rmSync(stale, { force: true });
      } catch {
        /* someone else did */
      }
    }
  }
  throw new KilnError('KILN_E_LOCK', `cannot take the publish lock of ${dir}`, { hint: 'retry', exitCode: 1 });
}

/** How a client uses a repository. */
export interface RepoClientInfo {
  readonly name: string;
  /** `BASE/repo/NAME`. */
  readonly url: string;
  /** `deb [signed-by=KEYRING] URL JAIL main`. */
  readonly sourcesLine: string;
  /** The same for the debug symbols suite (`JAIL-debug`; served when the repository publishes debug symbols). */
  readonly debugSourcesLine: string;
  /** Where the client should keep the key (the path in `signed-by`). */
  readonly keyringPath: string;
  /** URL of the binary keyring. */
  readonly keyUrl: string;
  /** A shell command that fetches the key to {@link keyringPath}. */
  readonly fetchKey: string;
}

/** The sources line and key fetching for the (jail, tree) repository served at `baseUrl`. */
export function repoInfo(home: string, jail: string, tree: string, baseUrl: string): RepoClientInfo {
  const name = repoName(jail, tree);
  describeRepo(home, name);
  return clientInfo(name, jail, baseUrl);
}

/** {@link repoInfo} without touching the disk. */
export function clientInfo(name: string, jail: string, baseUrl: string): RepoClientInfo {
  const url = `${baseUrl.replace(/\/+$/, '')}/repo/${name}`;
  const keyringPath = `/etc/apt/keyrings/kiln-${name}.gpg`;
  const keyUrl = `${url}/${KEYRING_FILE}`;
  return {
    name,
    url,
    keyringPath,
    keyUrl,
    sourcesLine: `deb [signed-by=${keyringPath}] ${url} ${jail} main`,
    debugSourcesLine: `deb [signed-by=${keyringPath}] ${url} ${debugSuite(jail)} main`,
    fetchKey: `mkdir -p /etc/apt/keyrings && curl -fsSL ${keyUrl} -o ${keyringPath}`,
  };
}

/** One package of the served generation, as {@link currentDebs} lists it. */
export interface PublishedDeb {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  readonly sha256: string;
  /** A stable path to the file (the pool store's copy): pass it to `publish` to keep the package. */
  readonly path: string;
}

/**
 * The packages of the served generation, read from its `Packages` (the debug suite's too): what a bulk passes again
 * to `publish` for ports that failed this time (they keep their previous package). Empty when nothing is published.
 */
export function currentDebs(home: string, jail: string, tree: string, arch: string): PublishedDeb[] {
  const dir = repoDir(home, repoName(jail, tree));
  const out: PublishedDeb[] = [];
  for (const suite of [jail, debugSuite(jail)]) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, 'current', 'dists', suite, 'main', `binary-${arch}`, 'Packages'), 'utf8');
    } catch {
      continue;
    }
    for (const para of text.split(/\n\n+/)) {
      const f = new Map(parseControl(para).map((x) => [x.name, x.value]));
      const sha256 = f.get('SHA256');
      const filename = f.get('Filename');
      if (!sha256 || !filename) continue;
      const stored = path.join(dir, '.kiln', 'pool', `${sha256}.deb`);
      out.push({
        name: f.get('Package') ?? '',
        version: f.get('Version') ?? '',
        arch: f.get('Architecture') ?? '',
        sha256,
        path: fs.existsSync(stored) ? stored : path.join(dir, 'current', filename),
      });
    }
  }
  return out;
}
