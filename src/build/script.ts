/**
 * Pure: what a build runs inside the sandbox, per the port spec's "Build systems" table. Produces the
 * environment and the shell steps (extract, patch, configure/build/install, test) for one port.
 */
import type { Recipe } from '../recipe/index.js';
import { ExecError, execError } from '../util/exec.js';
import { cachedConfigureScript } from './configure-cache.js';

/** Where things live inside the sandbox. */
export const SANDBOX_PATHS = {
  /** Distfiles, read-only. */
  distfiles: '/kiln/distfiles',
  /** The port folder (patches), read-only. */
  port: '/kiln/port',
  /** The unpacked source; the build runs here. */
  src: '/kiln/src',
  /** The staging root that becomes the package. */
  destdir: '/kiln/destdir',
} as const;

/** Inputs of {@link buildEnv} and {@link buildSteps}. */
export interface BuildScriptInput {
  readonly origin: string;
  readonly recipe: Recipe;
  /** Effective option values (defaults overlaid by the user's choices). */
  readonly options: Readonly<Record<string, boolean>>;
  /** Jobs for make, from the job budget (forced to 1 when the recipe says `parallel: false`). */
  readonly jobs: number;
  /** Seconds since the epoch for reproducible output. */
  readonly sourceDateEpoch: number;
  /** The distfiles' file names, in recipe order, as found under {@link SANDBOX_PATHS.distfiles}. */
  readonly distfiles: readonly string[];
  /** The port's own compiler cache, mounted at `/kiln/ccache` (kiln.yaml `ccache: true`): compilers go through ccache. */
  readonly ccache?: { readonly maxSize: string };
}

/** The build's environment, as the spec lists it (the recipe's `build.env` last, so it can override). */
export function buildEnv(inp: BuildScriptInput): Record<string, string> {
  const jobs = inp.recipe.build.parallel ? Math.max(1, inp.jobs) : 1;
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    HOME: '/kiln/home',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    DESTDIR: SANDBOX_PATHS.destdir,
    PREFIX: '/usr',
    MAKEFLAGS: `-j${jobs}`,
    KILN_ORIGIN: inp.origin,
    KILN_VERSION: inp.recipe.version,
    KILN_JOBS: String(jobs),
    SOURCE_DATE_EPOCH: String(inp.sourceDateEpoch),
  };
  for (const name of Object.keys(inp.recipe.options).sort()) env[`KILN_OPT_${name}`] = inp.options[name] ? 'on' : 'off';
  if (inp.ccache) {
    env.PATH = `/usr/lib/ccache:${env.PATH!}`;
    Object.assign(env, {
      CCACHE_DIR: '/kiln/ccache',
      CCACHE_MAXSIZE: inp.ccache.maxSize,
      CCACHE_BASEDIR: SANDBOX_PATHS.src,
      CCACHE_STATSLOG: '/kiln/home/ccache-stats.log', // this build's own counters (ccache --show-log-stats)
    });
  }
  for (const [k, v] of Object.entries(inp.recipe.build.env)) env[k] = v;
  return env;
}

/** Quotes one word for POSIX sh. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function optionArgs(inp: BuildScriptInput, which: 'configure_args' | 'make_args'): string[] {
  const out: string[] = [];
  for (const name of Object.keys(inp.recipe.options).sort()) {
    const o = inp.recipe.options[name]!;
    const pair = o[which];
    if (pair) out.push(...(inp.options[name] ? pair.on : pair.off));
  }
  return out;
}

/** One named step of a build: a shell script run with `set -e` in {@link SANDBOX_PATHS.src}. */
export interface BuildStep {
  readonly name: 'extract' | 'patch' | 'configure' | 'build' | 'install' | 'test';
  readonly script: string;
}

/** The extract step: unpack every distfile into the source folder (the first with `strip`, the rest beside it). */
export function extractStep(inp: BuildScriptInput): BuildStep {
  const lines: string[] = [];
  inp.recipe.sources.forEach((s, i) => {
    const file = `${SANDBOX_PATHS.distfiles}/${shq(inp.distfiles[i] ?? '')}`;
    lines.push(
      `case ${file} in`,
      `  *.tar|*.tar.*|*.tgz|*.tbz2|*.txz) tar -xf ${file} --no-same-owner --strip-components=${s.strip} -C ${SANDBOX_PATHS.src} ;;`,
      `  *.zip) unzip -q ${file} -d ${SANDBOX_PATHS.src} ;;`,
      `  *) cp ${file} ${SANDBOX_PATHS.src}/ ;;`,
      'esac',
    );
  });
  return { name: 'extract', script: lines.length ? lines.join('\n') : 'true' };
}

/** The patch step: `patch -p1` for each patch in order, failing on fuzz that rejects a hunk. */
export function patchStep(inp: BuildScriptInput): BuildStep {
  const lines = inp.recipe.patches.map(
    (p) =>
      `echo ">>> applying ${p.replace(/[`$"\\]/g, '')}"\npatch -p1 --forward --batch --no-backup-if-mismatch < ${SANDBOX_PATHS.port}/${shq(p)}`,
  );
  return { name: 'patch', script: lines.length ? lines.join('\n') : 'true' };
}

/** What makes `./configure` in an autotools tree that lacks it. */
const AUTORECONF = 'if [ ! -x ./configure ]; then autoreconf -fi; fi';

/** configure / build / install (and test) steps per `build.system`; a `script` replaces them all. */
export function buildSteps(inp: BuildScriptInput, withTests = false): BuildStep[] {
  const b = inp.recipe.build;
  const cargs = [...b.configure_args, ...optionArgs(inp, 'configure_args')].map(shq).join(' ');
  const margs = [...b.make_args, ...optionArgs(inp, 'make_args')].map(shq).join(' ');
  const sp = (s: string): string => s.replace(/ +$/, '');
  const steps: BuildStep[] = [];
  if (b.script !== undefined) {
    steps.push({ name: 'build', script: b.script });
  } else {
    switch (b.system) {
      case 'autotools': {
        const configure = sp(`./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var ${cargs}`);
        steps.push({
          name: 'configure',
          script: inp.ccache ? cachedConfigure(inp, configure) : `${AUTORECONF}\n${configure}`,
        });
        steps.push({ name: 'build', script: sp(`make ${margs}`) });
        steps.push({ name: 'install', script: 'make install DESTDIR="$DESTDIR"' });
        break;
      }
      case 'cmake':
        steps.push({
          name: 'configure',
          script: sp(`cmake -S . -B _build -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release ${cargs}`),
        });
        steps.push({
          name: 'build',
          script: `cmake --build _build --parallel "$KILN_JOBS"${margs ? ` -- ${margs}` : ''}`,
        });
        steps.push({ name: 'install', script: 'DESTDIR="$DESTDIR" cmake --install _build' });
        break;
      case 'meson':
        steps.push({ name: 'configure', script: sp(`meson setup _build --prefix=/usr --buildtype=release ${cargs}`) });
        // meson compile takes no free-form arguments: make_args do not apply to meson ports.
        steps.push({ name: 'build', script: 'meson compile -C _build -j "$KILN_JOBS"' });
        steps.push({ name: 'install', script: 'meson install -C _build --destdir "$DESTDIR"' });
        break;
      case 'make':
        steps.push({ name: 'build', script: sp(`make ${margs}`) });
        steps.push({ name: 'install', script: sp(`make install PREFIX=/usr DESTDIR="$DESTDIR" ${margs}`) });
        break;
      case 'script':
      case 'debian':
        // A script build without `script` is rejected by the recipe checks; debian builds have their own procedure.
        break;
    }
  }
  if (withTests && b.test !== undefined) steps.push({ name: 'test', script: b.test });
  return steps;
}

/**
 * `configure` with the port's own autoconf cache (with ccache: in its per-port folder, see
 * {@link cachedConfigureScript}): a rebuild replays it, or skips the checks whose answers cannot have changed. The keys' fixed part is
 * the configure command and the build's environment (without SOURCE_DATE_EPOCH and the job count, which no check
 * reads).
 */
function cachedConfigure(inp: BuildScriptInput, configure: string): string {
  const env = Object.entries(buildEnv(inp))
    .filter(([k, v]) => k !== 'SOURCE_DATE_EPOCH' && k !== 'KILN_JOBS' && !(k === 'MAKEFLAGS' && /^-j\d+$/.test(v)))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const fixed = JSON.stringify({ configure, env });
  return cachedConfigureScript(fixed, configure, AUTORECONF);
}

/**
 * The command line of one step: `sh -ec` with tracing on (`set -x`, PS4 `+ `), so the log shows every command the
 * step runs (as make echoes its recipes) and a failure can name the command that failed, not the script's first line.
 */
export function stepArgv(s: BuildStep): string[] {
  return ['sh', '-ec', `set -x\n${s.script}`];
}

/**
 * Follows a traced step's stderr ({@link stepArgv}) and names the command that failed: the last traced command
 * before the shell exited. Pass {@link StepTrace.onLine} as the command's line callback and {@link StepTrace.explain}
 * to `catch`.
 */
export class StepTrace {
  /** The last command the shell traced (without `+ `), if any. */
  last: string | undefined;
  readonly onLine = (line: string, stream: 'stdout' | 'stderr'): void => {
    if (stream === 'stderr' && line.startsWith('+ ')) this.last = line.slice(2);
  };
  /** Rethrows `e`; a non-zero exit of the step becomes an ExecError whose command is the traced one that failed. */
  readonly explain = (e: unknown): never => {
    if (e instanceof ExecError && e.reason === 'exit' && this.last !== undefined) {
      const cmd = this.last.length > 200 ? `${this.last.slice(0, 197)}...` : this.last;
      const err = execError(cmd, 'exit', e);
      // One line (the summary is the message's first line): the stderr's tail is in the log, beside the trace.
      err.message = `${cmd} exited with status ${e.exitStatus ?? '?'}`;
      throw err;
    }
    throw e;
  };
}
