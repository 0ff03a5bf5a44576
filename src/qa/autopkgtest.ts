/**
 * autopkgtest (DEP-8) for a Debian port: the source package is unpacked (and the port's patches applied) as the build
 * user in a fresh sandbox of the jail, its `debian/tests/control` read ({@link parseTestsControl}), and each test
 * that needs no machine, container, reboot, network or broken testbed is run there against the built `.deb`s. Before
 * each test its `Depends:` (`@` the built binaries, `@builddeps@`) is installed as autopkgtest does, through a dummy
 * package depending on them, in the two steps of a build (download through the archive proxy, install with no
 * network). Tests run one after the other in the same sandbox (autopkgtest's way on a testbed that cannot revert),
 * as the build user (root of the user namespace with `needs-root`), in the unpacked tree, with no network, under the
 * build's limits. Exit status 0 and, unless `allow-stderr`, nothing on stderr passes; `skippable` and 77 skips.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { ExecError } from '../util/exec.js';
import { APT_ENV, aptLine, shq } from '../build/index.js';
import {
  createSandbox,
  LimitError,
  resolveInside,
  sharedAptCache,
  type BindMount,
  type JailRef,
  type Limits,
  type Sandbox,
} from '../sandbox/index.js';
import {
  parseTestsControl,
  skipReason,
  sourceBuildDepends,
  testDepends,
  type AutopkgTest,
} from './autopkgtest-control.js';
import { aptError, debBinds, packagesIndex } from './install.js';

/** A source package on the host: its files (the `.dsc` among them) and the port's patches. */
export interface AutopkgtestSource {
  /** The `.dsc`'s file name. */
  readonly dsc: string;
  readonly files: readonly { readonly path: string; readonly name: string }[];
  /** Patches applied after unpacking (`patch -p1`), names relative to `dir`. */
  readonly patches?: { readonly dir: string; readonly names: readonly string[] };
}

/** One test's outcome (`flaky`: a failing test with the `flaky` restriction, which fails nothing). */
export interface AutopkgtestCase {
  readonly name: string;
  readonly result: 'pass' | 'fail' | 'skip' | 'flaky';
  readonly reason?: string;
  readonly wallMs?: number;
}

/** What {@link runAutopkgtest} found. */
export interface AutopkgtestResult {
  /** No test failed and the tests could be read. */
  readonly ok: boolean;
  /** The source has a `debian/tests/control`. */
  readonly present: boolean;
  readonly tests: AutopkgtestCase[];
  /** Outcomes counted (`{pass: 2, fail: 1, skip: 1}`). */
  readonly counts: Record<string, number>;
  /** Why the tests could not be run at all (unpacking failed, an unreadable control file). */
  readonly error?: string;
}

/** Options of {@link runAutopkgtest}. */
export interface AutopkgtestOptions {
  readonly home: string;
  readonly jail: JailRef;
  /** The built packages. */
  readonly debs: readonly string[];
  readonly source: AutopkgtestSource;
  /** The jail's architecture (default amd64), for architecture-qualified dependencies. */
  readonly arch?: string;
  readonly label: string;
  readonly log: (line: string) => void;
  readonly limits?: Limits;
  readonly signal?: AbortSignal;
}

const TREE = '/kiln/src/tree';
/** A test's limits when the caller gives none (a hanging test must end). */
const TEST_LIMITS: Limits = { wallMs: 30 * 60_000, noOutputMs: 10 * 60_000 };
const PATH = '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin';

/** Counts outcomes. */
function countOf(tests: readonly AutopkgtestCase[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const t of tests) c[t.result] = (c[t.result] ?? 0) + 1;
  return c;
}

function result(tests: AutopkgtestCase[], present: boolean, error?: string): AutopkgtestResult {
  const ok = error === undefined && !tests.some((t) => t.result === 'fail');
  return { ok, present, tests, counts: countOf(tests), ...(error ? { error } : {}) };
}

/** Runs the autopkgtests of `o.source` against `o.debs` in a fresh sandbox (torn down). Never throws for a test. */
export async function runAutopkgtest(o: AutopkgtestOptions): Promise<AutopkgtestResult> {
  const sb = await createSandbox({ home: o.home, jail: o.jail, label: `qa-at-${o.label}` });
  try {
    const why = await unpack(sb, o);
    if (why) return result([], false, why);
    const control = readSmall(sb, `${TREE}/debian/tests/control`);
    if (control === undefined) {
      o.log('autopkgtest: the source has no debian/tests/control');
      return result([], false);
    }
    const parsed = parseTestsControl(control);
    for (const e of parsed.errors) o.log(`autopkgtest: debian/tests/control: ${e}`);
    const tests = await runTests(sb, o, parsed.tests);
    for (const t of tests)
      o.log(`autopkgtest: ${t.name}: ${t.result.toUpperCase()}${t.reason ? ` (${t.reason})` : ''}`);
    const counts = countOf(tests);
    o.log(
      `autopkgtest: ${
        Object.entries(counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ') || 'no tests'
      }`,
    );
    return result(tests, true, parsed.errors.length > 0 && tests.length === 0 ? parsed.errors[0] : undefined);
  } catch (e) {
    if (e instanceof ExecError && e.reason === 'aborted') throw e;
    return result([], false, e instanceof Error ? e.message.split('\n')[0]! : String(e));
  } finally {
    await sb.teardown();
  }
}

/** A small regular file of the unpacked source (at most 1 MiB, never through a symlink out of the sandbox). */
function readSmall(sb: Sandbox, inside: string): string | undefined {
  try {
    const file = resolveInside(sb, inside);
    const st = fs.statSync(file);
    return st.isFile() && st.size <= 1 << 20 ? fs.readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/** Unpacks the source as the build user (no network) and applies the patches; returns why it failed, if it did. */
async function unpack(sb: Sandbox, o: AutopkgtestOptions): Promise<string | undefined> {
  sb.mkdir('/kiln', 'root');
  sb.mkdir('/kiln/src', 'build');
  sb.mkdir('/kiln/home', 'build');
  sb.mkdir('/kiln/at', 'build');
  // The mount points of the source's files, made here readable to all (as the build's fetch phase does).
  sb.mkdir('/kiln/dsc', 'root');
  for (const f of o.source.files) fs.writeFileSync(sb.hostPath(`/kiln/dsc/${path.basename(f.name)}`), '');
  const binds: BindMount[] = o.source.files.map((f) => ({
    source: f.path,
    dest: `/kiln/dsc/${path.basename(f.name)}`,
    readonly: true,
  }));
  if (o.source.patches) binds.push({ source: o.source.patches.dir, dest: '/kiln/port', readonly: true });
  const patch = (o.source.patches?.names ?? []).map(
    (p) => `patch -p1 --forward --batch --no-backup-if-mismatch < /kiln/port/${shq(p)}`,
  );
  const script = [
    `dpkg-source --no-copy -x /kiln/dsc/${shq(o.source.dsc)} ${TREE} >/dev/null`,
    `cd ${TREE}`,
    ...patch,
  ].join('\n');
  const r = await sb.run({
    argv: ['sh', '-ec', script],
    user: 'build',
    network: false,
    env: { PATH, HOME: '/kiln/home', LANG: 'C.UTF-8' },
    binds,
    allowFailure: true,
    signal: o.signal,
    ...(o.limits ? { limits: o.limits } : {}),
  });
  if (r.status === 0) return undefined;
  const last = `${r.stdout}\n${r.stderr}`.trim().split('\n').pop() ?? '';
  return `unpacking ${o.source.dsc} failed (exit status ${r.status}): ${last}`;
}

/**
 * The dummy package of test `i` (`kiln-autopkgtest-dep-I`, depending on what the test needs), built on the host
 * into `/kiln/qa/dep` of the sandbox. Throws if dpkg-deb refuses the Depends.
 */
async function satdep(sb: Sandbox, i: number, depends: string): Promise<string> {
  const root = sb.hostPath(`/kiln/qa/build-${i}`);
  fs.mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  const control = [
    `Package: kiln-autopkgtest-dep-${i}`,
    'Version: 0',
    'Architecture: all',
    'Maintainer: kiln <kiln@localhost>',
    ...(depends ? [`Depends: ${depends.replace(/\n/g, ' ')}`] : []),
    'Description: the dependencies of an autopkgtest',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(root, 'DEBIAN/control'), control);
  const out = sb.hostPath(`/kiln/qa/dep/kiln-autopkgtest-dep-${i}_0_all.deb`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out]);
  fs.rmSync(root, { recursive: true, force: true });
  return out;
}

/** Writes the local apt source (the built `.deb`s and the dummy packages); returns the binds the built ones need. */
async function localSource(sb: Sandbox, own: readonly string[], deps: readonly string[]): Promise<BindMount[]> {
  const idx = await packagesIndex('/', [...own, ...deps]);
  const dep = sb.hostPath('/kiln/qa/dep');
  const text = idx.text.replace(/^Filename: (.*)$/gm, (_m, f: string) => {
    const abs = `/${f}`;
    return `Filename: ${abs.startsWith(`${dep}/`) ? 'dep' : 'new'}/${path.basename(abs)}`;
  });
  fs.writeFileSync(sb.hostPath('/kiln/qa/Packages'), text);
  fs.writeFileSync(sb.hostPath('/etc/apt/sources.list.d/kiln-qa.list'), 'deb [trusted=yes] file:/kiln/qa ./\n');
  fs.writeFileSync(
    sb.hostPath('/etc/apt/preferences.d/kiln-qa.pref'),
    'Package: *\nPin: origin ""\nPin-Priority: 990\n',
  );
  return debBinds(own, '/kiln/qa/new');
}

/** The built binaries' package names. */
async function binaryNames(debs: readonly string[]): Promise<string[]> {
  const idx = await packagesIndex('/', debs);
  return [...new Set([...idx.names.values()].map((n) => n.split('=')[0]!))];
}

/** Installs each runnable test's dependencies and runs it. */
async function runTests(sb: Sandbox, o: AutopkgtestOptions, tests: readonly AutopkgTest[]): Promise<AutopkgtestCase[]> {
  const out: AutopkgtestCase[] = [];
  const runnable = tests.filter((t) => {
    const why = skipReason(t);
    if (why) out.push({ name: t.name, result: 'skip', reason: why });
    return !why;
  });
  if (runnable.length === 0) return out;
  sb.mkdir('/kiln/qa', 'root');
  const buildDepends = sourceBuildDepends(readSmall(sb, `${TREE}/debian/control`) ?? '');
  const ctx = { binaries: await binaryNames(o.debs), buildDepends, arch: o.arch ?? 'amd64' };
  // One dummy package per distinct Depends: tests that need the same share it, and it is installed once.
  const keyOf = new Map<AutopkgTest, string>();
  const made = new Map<string, { name: string; deb?: string; error?: string }>();
  for (const t of runnable) {
    const d = testDepends(t, ctx);
    keyOf.set(t, d);
    if (made.has(d)) continue;
    const name = `kiln-autopkgtest-dep-${made.size}`;
    try {
      made.set(d, { name, deb: await satdep(sb, made.size, d) });
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      made.set(d, { name, error: `its Depends cannot be made into a package: ${why}` });
    }
  }
  const debs = [...made.values()].flatMap((m) => (m.deb ? [m.deb] : []));
  const binds = await localSource(
    sb,
    o.debs.map((d) => path.resolve(d)),
    debs,
  );
  // Every test's folders now, before any test runs: a test could plant a symlink where the host would make them later.
  for (const [i, t] of runnable.entries()) {
    const owner = t.restrictions.includes('needs-root') ? 'root' : 'build';
    for (const d of [`/kiln/at/${i}`, `/kiln/at/${i}/tmp`, `/kiln/at/${i}/artifacts`]) sb.mkdir(d, owner);
  }
  const installed = new Map<string, string>();
  for (const [i, t] of runnable.entries()) {
    const d = keyOf.get(t)!;
    const m = made.get(d)!;
    let why = m.error ?? installed.get(d);
    if (why === undefined) {
      why = await installDeps(sb, o, binds, m.name);
      installed.set(d, why);
    }
    if (why) {
      const skip = t.restrictions.includes('skip-not-installable');
      out.push({ name: t.name, result: skip ? 'skip' : 'fail', reason: `dependencies not installable: ${why}` });
      continue;
    }
    out.push(await runOne(sb, o, t, i));
  }
  return out;
}

/** The two-step install of a dummy package; returns apt's complaint, or '' when installed. */
async function installDeps(sb: Sandbox, o: AutopkgtestOptions, binds: BindMount[], name: string): Promise<string> {
  const lines: string[] = [];
  const update = `apt-get update -q -o APT::Sandbox::User=root -o Acquire::Languages=none -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/kiln-qa.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0`;
  const step = async (script: string, network: 'archive' | false): Promise<number> =>
    (
      await sb.run({
        argv: ['sh', '-ec', script],
        user: 'root',
        network,
        env: APT_ENV,
        binds,
        aptCache: sharedAptCache(o.home),
        allowFailure: true,
        signal: o.signal,
        ...(o.limits ? { limits: o.limits } : {}),
        onLine: (l, s) => {
          lines.push(l);
          o.log(`${s === 'stderr' ? '! ' : ''}${l}`);
        },
      })
    ).status;
  o.log(`autopkgtest: installing the dependencies (${name})`);
  if ((await step(`${update}\n${aptLine('download', 'install', [name])}`, 'archive')) !== 0) return aptError(lines);
  if ((await step(aptLine('install', 'install', [name]), false)) !== 0) return aptError(lines);
  return '';
}

/** Runs test `t` (number `i`) and classifies it. */
async function runOne(sb: Sandbox, o: AutopkgtestOptions, t: AutopkgTest, i: number): Promise<AutopkgtestCase> {
  const root = t.restrictions.includes('needs-root');
  const owner = root ? 'root' : 'build';
  const tmp = `/kiln/at/${i}/tmp`;
  const artifacts = `/kiln/at/${i}/artifacts`;
  const argv = t.path
    ? ['sh', '-c', 'chmod +x "$1" 2>/dev/null || true; exec "$1"', 'autopkgtest', `./${t.path}`]
    : ['sh', '-c', t.command ?? 'false'];
  o.log(`autopkgtest: ${t.name}: running${root ? ' as root' : ''}`);
  const t0 = Date.now();
  let status: number;
  let stderr: string;
  try {
    const r = await sb.run({
      argv,
      user: owner,
      network: false,
      cwd: TREE,
      env: {
        PATH,
        HOME: root ? '/root' : '/kiln/home',
        LANG: 'C.UTF-8',
        DEBIAN_FRONTEND: 'noninteractive',
        AUTOPKGTEST_TMP: tmp,
        AUTOPKGTEST_ARTIFACTS: artifacts,
        ADTTMP: tmp,
        ADT_ARTIFACTS: artifacts,
        AUTOPKGTEST_NORMAL_USER: 'kiln',
      },
      allowFailure: true,
      signal: o.signal,
      limits: o.limits ?? TEST_LIMITS,
      onLine: (l, s) => o.log(`${t.name}: ${s === 'stderr' ? '! ' : ''}${l}`),
    });
    status = r.status;
    stderr = r.stderr;
  } catch (e) {
    if (!(e instanceof LimitError)) throw e;
    return { name: t.name, result: 'fail', reason: e.message, wallMs: Date.now() - t0 };
  }
  const wallMs = Date.now() - t0;
  return { name: t.name, ...classify(t, status, stderr), wallMs };
}

/** autopkgtest's verdict on a finished test. Pure. */
export function classify(
  t: Pick<AutopkgTest, 'restrictions'>,
  status: number,
  stderr: string,
): Pick<AutopkgtestCase, 'result' | 'reason'> {
  if (status === 77 && t.restrictions.includes('skippable'))
    return { result: 'skip', reason: 'exit status 77 (skippable)' };
  let reason: string | undefined;
  if (status !== 0) reason = `exit status ${status}`;
  else if (stderr.length > 0 && !t.restrictions.includes('allow-stderr'))
    reason = `output on stderr: ${stderr.trim().split('\n')[0] ?? ''}`;
  if (reason === undefined) return { result: 'pass' };
  return { result: t.restrictions.includes('flaky') ? 'flaky' : 'fail', reason };
}
