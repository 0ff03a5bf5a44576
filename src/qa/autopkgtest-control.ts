/**
 * `debian/tests/control` (autopkgtest's DEP-8 file, deb822) read into tests, and a test's `Depends:` turned into a
 * binary package's `Depends` field (`@` the built binaries, `@builddeps@` the source's build dependencies and
 * build-essential). Pure: no file, no process.
 */

/** One test of `debian/tests/control`. */
export interface AutopkgTest {
  /** `Tests:` name, or `commandN` for the N-th `Test-Command:` (as autopkgtest names them). */
  readonly name: string;
  /** The test's program, relative to the source tree (`debian/tests/NAME`), for a `Tests:` test. */
  readonly path?: string;
  /** The shell command of a `Test-Command:` test. */
  readonly command?: string;
  /** `Depends:` split at top-level commas (default `@`). */
  readonly depends: readonly string[];
  readonly restrictions: readonly string[];
  readonly features: readonly string[];
}

/** What {@link parseTestsControl} read: the tests, and the stanzas it could not use. */
export interface TestsControl {
  readonly tests: AutopkgTest[];
  readonly errors: string[];
}

/** deb822 paragraphs: field names lower-cased, continuation lines joined with a newline, `#` lines ignored. */
export function deb822(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> = {};
  let last: string | undefined;
  const flush = (): void => {
    if (Object.keys(cur).length > 0) out.push(cur);
    cur = {};
    last = undefined;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last !== undefined) cur[last] = `${cur[last]}\n${line.trim()}`;
      continue;
    }
    const m = /^([^:\s]+)\s*:(.*)$/.exec(line);
    if (!m) continue;
    last = m[1]!.toLowerCase();
    cur[last] = m[2]!.trim();
  }
  flush();
  return out;
}

const words = (s: string | undefined): string[] => (s ?? '').split(/[\s,]+/).filter(Boolean);

/** Splits a relation field at commas (`a (>= 1), b | c` -> `['a (>= 1)', 'b | c']`), dropping empty items. */
export function splitRelations(s: string): string[] {
  return s
    .replace(/\n/g, ' ')
    .split(',')
    .map((x) => x.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
}

/** Reads `debian/tests/control`. At most `max` tests (a bounded loop over untrusted input). */
export function parseTestsControl(text: string, max = 200): TestsControl {
  const tests: AutopkgTest[] = [];
  const errors: string[] = [];
  let commands = 0;
  for (const [i, p] of deb822(text).entries()) {
    const base = {
      depends: splitRelations(p.depends ?? '@'),
      restrictions: words(p.restrictions),
      features: words(p.features),
    };
    const dir = (p['tests-directory'] ?? 'debian/tests').replace(/\/+$/, '');
    if (p.tests !== undefined && p['test-command'] !== undefined) {
      errors.push(`stanza ${i + 1} has both Tests and Test-Command`);
    } else if (p.tests !== undefined) {
      for (const name of words(p.tests)) tests.push({ name, path: `${dir}/${name}`, ...base });
    } else if (p['test-command'] !== undefined) {
      commands += 1;
      tests.push({ name: `command${commands}`, command: p['test-command'].replace(/\n/g, ' '), ...base });
    } else {
      errors.push(`stanza ${i + 1} has neither Tests nor Test-Command`);
    }
    if (tests.length >= max) {
      errors.push(`more than ${max} tests: the rest are ignored`);
      return { tests: tests.slice(0, max), errors };
    }
  }
  return { tests, errors };
}

/** Restrictions kiln's sandboxes cannot honour: such tests are skipped, with the reason. */
const SKIP: Readonly<Record<string, string>> = {
  'needs-reboot': 'needs-reboot: a sandbox cannot reboot',
  'isolation-machine': 'isolation-machine: a sandbox is no machine of its own',
  'isolation-container': 'isolation-container: a sandbox is no container with its own init and services',
  'breaks-testbed': 'breaks-testbed: kiln runs all tests of a port in one sandbox',
  'needs-internet': 'needs-internet: QA has no network',
  'build-needed': 'build-needed: kiln does not build the source tree for tests',
  'needs-sudo': 'needs-sudo: the sandbox has no sudo for the test user',
};

/** Restrictions kiln honours (or that need nothing). */
const KNOWN = new Set([
  'allow-stderr',
  'flaky',
  'hint-testsuite-triggers',
  'needs-recommends',
  'needs-root',
  'rw-build-tree',
  'skip-foreign-architecture',
  'skip-not-installable',
  'skippable',
  'superficial',
]);

/** Why `t` is not run (a restriction kiln cannot honour, or one it does not know), or undefined. */
export function skipReason(t: AutopkgTest): string | undefined {
  for (const r of t.restrictions) {
    if (SKIP[r]) return SKIP[r];
    if (!KNOWN.has(r)) return `unknown restriction ${r}`;
  }
  return undefined;
}

/** Whether an architecture restriction list (`[amd64 !i386 linux-any]`) admits `arch`. */
export function archAdmits(list: string, arch: string): boolean {
  const items = words(list);
  const hit = (a: string): boolean => a === arch || a === 'any' || a === `linux-${arch}` || a === 'linux-any';
  const neg = items.filter((a) => a.startsWith('!')).map((a) => a.slice(1));
  const pos = items.filter((a) => !a.startsWith('!'));
  return pos.length > 0 ? pos.some(hit) : !neg.some(hit);
}

/**
 * One relation (`a [amd64] <!nocheck> | b:native`) as a binary package's Depends allows it: alternatives for other
 * architectures dropped, build profiles dropped (an alternative only for a profile, `<stage1>`, is dropped; one
 * excluded from a profile, `<!nocheck>`, kept), `:native` removed. Empty when nothing is left.
 */
export function binaryRelation(rel: string, arch: string): string {
  const alts: string[] = [];
  for (const alt of rel.split('|')) {
    let a = alt.trim();
    const archList = /\[([^\]]*)\]/.exec(a);
    if (archList && !archAdmits(archList[1]!, arch)) continue;
    const profiles = [...a.matchAll(/<([^>]*)>/g)].map((m) => words(m[1]));
    if (profiles.length > 0 && profiles.every((terms) => terms.some((x) => !x.startsWith('!')))) continue;
    a = a
      .replace(/\[[^\]]*\]/g, '')
      .replace(/<[^>]*>/g, '')
      .replace(/:native\b/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (a) alts.push(a);
  }
  return alts.join(' | ');
}

/** What `@` and `@builddeps@` stand for. */
export interface DependsContext {
  /** The built binary packages (`@`). */
  readonly binaries: readonly string[];
  /** The source's `Build-Depends`, `-Arch` and `-Indep` relations (`@builddeps@`, build-essential added). */
  readonly buildDepends: readonly string[];
  readonly arch: string;
}

/** A test's `Depends:` as one `Depends` field of a binary package. Pure. */
export function testDepends(t: Pick<AutopkgTest, 'depends'>, c: DependsContext): string {
  const out: string[] = [];
  for (const d of t.depends) {
    if (d === '@') out.push(...c.binaries);
    else if (d === '@builddeps@') out.push('build-essential', ...c.buildDepends);
    else if (d === '@recommends@') continue;
    else out.push(d);
  }
  return [...new Set(out.map((r) => binaryRelation(r, c.arch)).filter(Boolean))].join(', ');
}

/** The build dependencies of a `debian/control` (its first paragraph). */
export function sourceBuildDepends(control: string): string[] {
  const src = deb822(control)[0] ?? {};
  return ['build-depends', 'build-depends-arch', 'build-depends-indep'].flatMap((f) => splitRelations(src[f] ?? ''));
}
