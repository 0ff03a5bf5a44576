/**
 * Pure text work of a Debian source build: kiln's `debian/changelog` entry, `DEB_BUILD_OPTIONS` /
 * `DEB_BUILD_PROFILES`, the `.deb`s (and `-dbgsym` `.ddeb`s) a `.changes` file names, and apt's complaint in a few
 * words. No disk, no process. Nothing kiln-specific goes into `debian/control` (lintian's `unknown-field`): the
 * build identity lives in the store (the bulk's records and the repository's package rows).
 */
import type { Recipe } from '../recipe/index.js';

/** An RFC 2822 date as `debian/changelog` wants it (`Tue, 14 Nov 2023 22:13:20 +0000`), in UTC. */
export function changelogDate(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return (
    `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

/** The top entry of a `debian/changelog`: source name, version, distribution, urgency and date (epoch seconds). */
export interface ChangelogTop {
  readonly source: string;
  readonly version: string;
  readonly distribution: string;
  readonly urgency: string;
  /** The trailer's date, or undefined when it cannot be read. */
  readonly epoch?: number;
}

/** Reads the top entry of a changelog; undefined when its first line is not `SOURCE (VERSION) DIST; urgency=U`. */
export function changelogTop(text: string): ChangelogTop | undefined {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  const m = /^(\S+) \(([^()\s]+)\) ([^;]+);(?:.*\burgency=(\w+))?/.exec(lines[first] ?? '');
  if (!m) return undefined;
  let epoch: number | undefined;
  for (let i = first + 1; i < lines.length; i++) {
    const t = /^ -- .*?>  (.+)$/.exec(lines[i]!);
    if (t) {
      const ms = Date.parse(t[1]!);
      epoch = Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
      break;
    }
    if (/^\S/.test(lines[i]!)) break;
  }
  return {
    source: m[1]!,
    version: m[2]!,
    distribution: m[3]!.trim(),
    urgency: m[4] ?? 'medium',
    ...(epoch !== undefined ? { epoch } : {}),
  };
}

/** Inputs of {@link kilnChangelog}. */
export interface ChangelogStamp {
  /** The version of the new entry (`debianKilnVersion(...)`). */
  readonly version: string;
  /** The build identity (its first 16 digits are named in the entry; it also places the entry's date). */
  readonly identity: string;
  /** SOURCE_DATE_EPOCH of the build. */
  readonly sourceDateEpoch: number;
  /** `Name <email>` of the entry (`maintainerOf(config)`). */
  readonly maintainer: string;
}

/**
 * The date of kiln's entry (epoch seconds): SOURCE_DATE_EPOCH when that is later than the archive's top entry,
 * else a moment after that entry, 1 s to 1 day later as the identity's first digits say. So it is always newer than
 * the entry before it (lintian's `latest-changelog-entry-without-new-date`) and the same for the same build.
 */
export function kilnChangelogEpoch(previous: number | undefined, sourceDateEpoch: number, identity: string): number {
  const after = (previous ?? 0) + 1 + ((Number.parseInt(identity.slice(0, 8), 16) || 0) % 86_400);
  return sourceDateEpoch > (previous ?? 0) ? sourceDateEpoch : after;
}

/**
 * `debian/changelog` with kiln's entry on top of the archive's, which is kept whole: same source name, distribution
 * and urgency as the archive's top entry, the new version, "Rebuilt by kiln (identity …)", signed by `maintainer`,
 * dated by {@link kilnChangelogEpoch} (dpkg turns that date into the build's SOURCE_DATE_EPOCH). Throws when the
 * changelog's first line cannot be read.
 */
export function kilnChangelog(text: string, s: ChangelogStamp): string {
  const top = changelogTop(text);
  if (!top) throw new Error('debian/changelog does not start with "SOURCE (VERSION) DISTRIBUTION; urgency=U"');
  const epoch = kilnChangelogEpoch(top.epoch, s.sourceDateEpoch, s.identity);
  return [
    `${top.source} (${s.version}) ${top.distribution}; urgency=${top.urgency}`,
    '',
    `  * Rebuilt by kiln (identity ${s.identity.slice(0, 16)}).`,
    '',
    ` -- ${s.maintainer}  ${changelogDate(epoch)}`,
    '',
    text,
  ].join('\n');
}

/** True when the source paragraph of `debian/control` says `Rules-Requires-Root: no` (no fakeroot needed). */
export function rulesNeedNoRoot(control: string): boolean {
  const source = control.split(/\n\s*\n/)[0] ?? '';
  return /^Rules-Requires-Root:\s*no\s*$/im.test(source);
}

/** Inputs of {@link debBuildWords}. */
export interface DebBuildWordsInput {
  readonly recipe: Recipe;
  /** Effective option values. */
  readonly options: Readonly<Record<string, boolean>>;
  readonly jobs: number;
  readonly withTests: boolean;
  /** Keep the `-dbgsym` packages (kiln.yaml `debug_symbols`); otherwise `noddebs`. */
  readonly debugSymbols?: boolean;
}

/**
 * `DEB_BUILD_OPTIONS` and `DEB_BUILD_PROFILES` words, in order, without duplicates: `parallel=JOBS`, `nocheck`
 * (both, unless tests are asked for), `notrimdch` (the installed changelog is the whole of Debian's, with kiln's
 * entry on top), `noddebs` (no debug-symbol packages) unless `debugSymbols`, then `build.deb_build_options` /
 * `build.deb_build_profiles`, then each option's on/off words (options in name order).
 */
export function debBuildWords(inp: DebBuildWordsInput): { options: string[]; profiles: string[] } {
  const b = inp.recipe.build as typeof inp.recipe.build & {
    deb_build_options?: readonly string[];
    deb_build_profiles?: readonly string[];
  };
  const jobs = b.parallel ? Math.max(1, inp.jobs) : 1;
  const options = [
    `parallel=${jobs}`,
    ...(inp.withTests ? [] : ['nocheck']),
    'notrimdch',
    ...(inp.debugSymbols ? [] : ['noddebs']),
    ...(b.deb_build_options ?? []),
  ];
  const profiles = [...(inp.withTests ? [] : ['nocheck']), ...(b.deb_build_profiles ?? [])];
  for (const name of Object.keys(inp.recipe.options).sort()) {
    const o = inp.recipe.options[name] as {
      deb_build_options?: { on: string[]; off: string[] };
      deb_build_profiles?: { on: string[]; off: string[] };
    };
    const on = inp.options[name] ?? false;
    if (o.deb_build_options) options.push(...(on ? o.deb_build_options.on : o.deb_build_options.off));
    if (o.deb_build_profiles) profiles.push(...(on ? o.deb_build_profiles.on : o.deb_build_profiles.off));
  }
  // A later parallel=N (from the recipe) replaces the job budget's.
  const lastParallel = options.filter((w) => w.startsWith('parallel=')).pop();
  const dedup = (ws: string[]): string[] => [...new Set(ws)];
  return {
    options: dedup(options.filter((w) => !w.startsWith('parallel=') || w === lastParallel)),
    profiles: dedup(profiles),
  };
}

/** True for a debug-symbol package of a `.changes` file (Debian: `NAME-dbgsym_…deb` in section `debug`; Ubuntu: `.ddeb`). */
function isDbgsym(f: { name: string; section: string }): boolean {
  return (
    f.name.endsWith('.ddeb') || /-dbgsym_[^/]*\.deb$/.test(f.name) || (f.section === 'debug' && f.name.endsWith('.deb'))
  );
}

/** The binary packages a `.changes` file names in its `Files:` field (`.deb` and `.udeb`; no `-dbgsym`, `.buildinfo`). */
export function changesDebs(changes: string): string[] {
  return changesFiles(changes)
    .filter((f) => /\.u?deb$/.test(f.name) && !isDbgsym(f))
    .map((f) => f.name);
}

/** The debug-symbol packages (`-dbgsym`) a `.changes` file names. */
export function changesDdebs(changes: string): string[] {
  return changesFiles(changes)
    .filter(isDbgsym)
    .map((f) => f.name);
}

/** The files of a `.changes` file's `Files:` field (` MD5 SIZE SECTION PRIORITY NAME`), names without paths. */
function changesFiles(changes: string): { name: string; section: string }[] {
  const out: { name: string; section: string }[] = [];
  let inFiles = false;
  for (const l of changes.split('\n')) {
    if (/^Files:/i.test(l)) {
      inFiles = true;
      continue;
    }
    if (!/^\s/.test(l)) {
      inFiles = false;
      continue;
    }
    if (!inFiles) continue;
    const w = l.trim().split(/\s+/);
    const name = w[w.length - 1] ?? '';
    if (name !== '' && !name.includes('/')) out.push({ name, section: w.length >= 5 ? w[2]! : '' });
  }
  return out;
}

/**
 * apt's complaint in one line: the unmet-dependency lines (`builddeps:… : Depends: foo but it is not installable`)
 * and the `E:` lines, joined with `; ` (at most a few, each trimmed). Empty when apt said nothing of the kind.
 */
export function aptComplaint(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const unmet = lines.filter(
    (l) => /(Depends|Conflicts|Breaks):.*\b(but|is not)\b/.test(l) || /^Depends:|^\S+ : Depends:/.test(l),
  );
  const errs = lines.filter((l) => l.startsWith('E:'));
  return [...new Set([...unmet.slice(0, 3), ...errs.slice(0, 2)])]
    .map((l) => (l.length > 300 ? `${l.slice(0, 297)}...` : l))
    .join('; ');
}
