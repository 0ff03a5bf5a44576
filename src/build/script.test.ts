import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecipeSchema, type Recipe } from '../recipe/schema.js';
import { assertGolden } from '../util/golden.js';
import { buildEnv, buildSteps, extractStep, patchStep, shq, type BuildScriptInput } from './script.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const recipe = (o: object): Recipe => RecipeSchema.parse({ version: '1.0', summary: 's', ...o });
const input = (r: Recipe, options: Record<string, boolean> = {}, jobs = 4): BuildScriptInput => ({
  origin: 'misc/x',
  recipe: r,
  options,
  jobs,
  sourceDateEpoch: 1700000000,
  distfiles: r.sources.map((_, i) => `f${i}.tar.gz`),
});

function render(inp: BuildScriptInput, tests = true): string {
  return [extractStep(inp), patchStep(inp), ...buildSteps(inp, tests)]
    .map((s) => `## ${s.name}\n${s.script}\n`)
    .join('');
}

test('each build system runs the commands of the spec, with option arguments', () => {
  const options = {
    NLS: { default: false, description: 'nls', configure_args: { on: ['--enable-nls'], off: ['--disable-nls'] } },
    X: { default: true, description: 'x', make_args: { on: ['WITH_X=1'], off: [] } },
  };
  const out: string[] = [];
  for (const system of ['autotools', 'cmake', 'meson', 'make'] as const) {
    const r = recipe({
      build: { system, configure_args: ['--a b'], make_args: ['V=1'], test: 'make check' },
      options,
      sources: [{ url: 'https://e.invalid/x.tar.gz', sha256: 'a'.repeat(64) }],
      patches: ['fix.patch'],
    });
    out.push(`# ${system}\n${render(input(r, { NLS: true, X: false }))}`);
  }
  out.push(`# script\n${render(input(recipe({ build: { system: 'script', script: './build.sh\nmake install' } })))}`);
  assertGolden(path.join(here, '__fixtures__/steps.golden'), out.join('\n'));
});

test('environment: spec variables, options on/off, job budget, recipe env last', () => {
  const r = recipe({
    build: { system: 'make', env: { CFLAGS: '-O2', PREFIX: '/opt' } },
    options: { NLS: { default: false, description: 'n' }, DOCS: { default: true, description: 'd' } },
  });
  const env = buildEnv(input(r, { NLS: true, DOCS: false }, 3));
  assert.equal(env.MAKEFLAGS, '-j3');
  assert.equal(env.KILN_OPT_NLS, 'on');
  assert.equal(env.KILN_OPT_DOCS, 'off');
  assert.equal(env.DESTDIR, '/kiln/destdir');
  assert.equal(env.PREFIX, '/opt');
  assert.equal(env.SOURCE_DATE_EPOCH, '1700000000');
  assert.equal(env.KILN_ORIGIN, 'misc/x');
});

test('a port that is not parallel-safe always gets -j1', () => {
  const r = recipe({ build: { system: 'make', parallel: false } });
  assert.equal(buildEnv(input(r, {}, 8)).MAKEFLAGS, '-j1');
});

test('shell quoting keeps arguments whole', () => {
  assert.equal(shq('--prefix=/usr'), '--prefix=/usr');
  assert.equal(shq("it's a b"), `'it'\\''s a b'`);
});

test('a traced step names the command that failed, not the first line of its script', async () => {
  const { StepTrace, stepArgv } = await import('./script.js');
  const { run, ExecError } = await import('../util/exec.js');
  const argv = stepArgv({
    name: 'build',
    script: 'echo "about to fail"\nif true; then\n  ls /no/such/kiln/file\nfi\necho never',
  });
  const t = new StepTrace();
  const err = await run(argv[0]!, argv.slice(1), {
    onOutput: (b, s) => {
      for (const l of b.toString().split('\n')) t.onLine(l, s);
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ExecError);
  assert.match(err.message.split('\n')[0]!, /^sh -ec set -x/, 'untraced, the summary is the first line');
  assert.throws(
    () => t.explain(err),
    (e: unknown) =>
      e instanceof ExecError && e.message === 'ls /no/such/kiln/file exited with status 2' && e.exitStatus === 2,
  );
  assert.throws(() => t.explain(new Error('other')), /other/);
});

test("with ccache, configure keeps the port's autoconf cache under a key of its options and environment", () => {
  const r = recipe({
    build: { system: 'autotools' },
    options: { NLS: { default: false, description: 'nls', configure_args: { on: ['--enable-nls'], off: [] } } },
  });
  const conf = (inp: BuildScriptInput): string => buildSteps(inp).find((s) => s.name === 'configure')!.script;
  const cc = { ccache: { maxSize: '1G' } };
  const off = conf({ ...input(r, { NLS: false }), ...cc });
  assert.match(off, /\n\.\/configure --cache-file=\/kiln\/ccache\/kiln-configure\/config\.cache --prefix=\/usr /);
  const [run, key] = [off.indexOf('\n./configure '), off.indexOf('> /kiln/ccache/kiln-configure/key')];
  assert.ok(run > 0 && key > run, 'the key is written once configure succeeded, not before');
  assert.match(off, /kiln_pkgs=\$\(cat \/var\/lib\/dpkg\/status /, 'the installed packages');
  assert.match(off, /kiln_key=.*"\$kiln_pkgs"; cat \.\/configure;/, 'the script and the installed packages');
  assert.doesNotMatch(conf(input(r)), /cache-file|kiln-configure/, 'without ccache, no cache file');
  assert.notEqual(conf({ ...input(r, { NLS: true }), ...cc }), off, 'another option: another key');
  const env = recipe({ build: { system: 'autotools', env: { CFLAGS: '-O3' } } });
  assert.notEqual(
    conf({ ...input(env), ...cc }),
    conf({ ...input(recipe({ build: { system: 'autotools' } })), ...cc }),
  );
  // The epoch and the job budget change between builds of the same sources; no check reads them.
  assert.equal(conf({ ...input(r, {}, 1), ...cc, sourceDateEpoch: 1 }), conf({ ...input(r, {}, 8), ...cc }));
});
