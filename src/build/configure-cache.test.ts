/**
 * The configure cache and replay script, run on the host over small trees with a stand-in `configure` (it counts its
 * runs, makes a Makefile from Makefile.in, a `.deps` file and config.status, removes a file and reads its cache
 * file): a tree differing only in a compilation unit replays, anything else configure or config.status may read
 * runs configure; a corrupt archive, a cache of another key and an oversized cache folder are not used, and a
 * hostile one touches nothing outside the tree. A tree without configure: autoreconf's output is replayed too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { cachedConfigureScript } from './configure-cache.js';
import { CONFIGURE_CACHE_MAX, CONFIGURE_CACHE_NAME, claimCcacheDir } from './ccache.js';

const CONFIGURE = `#!/bin/sh
echo run >> "$KILN_TEST_RUNS"
for a; do case $a in --cache-file=*) cache=\${a#--cache-file=} ;; esac; done
[ -f "$cache" ] && . "$cache"
echo "ac_cv_x=\${ac_cv_x:-yes}" > "$cache"
{ cat Makefile.in; echo "X=\${ac_cv_x:-yes}"; } > Makefile
mkdir -p sub/.deps && echo '# dummy' > sub/.deps/b.Po
printf '#!/bin/sh\\n' > config.status && chmod +x config.status
rm -f stale.txt
`;

test('configure is replayed only for a tree that differs in compilation units, and only from a sound cache', async (t) => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-configure-cache-'));
  t.after(() => fs.rmSync(top, { recursive: true, force: true }));
  const [base, kc, dpkg, runs] = ['base', 'cache', 'dpkg', 'runs'].map((f) => path.join(top, f)) as [
    string,
    string,
    string,
    string,
  ];
  const files: Record<string, string> = {
    configure: CONFIGURE,
    'Makefile.in': 'all:\n',
    'a.c': 'int a;\n',
    'a.h': '#define A 1\n',
    'stale.txt': 'x\n',
    'sub/b.c': 'int b;\n',
  };
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(base, f)), { recursive: true });
    fs.writeFileSync(path.join(base, f), text, { mode: f === 'configure' ? 0o755 : 0o644 });
  }
  const [status, sums] = [path.join(dpkg, 'status'), path.join(dpkg, 'info', 'gcc.md5sums')];
  fs.mkdirSync(path.dirname(sums), { recursive: true });
  fs.writeFileSync(status, 'Package: gcc\nVersion: 1\n');
  fs.writeFileSync(sums, '0123  usr/bin/gcc\n');
  const bin = path.join(top, 'bin'); // a stand-in autoreconf: configure.ac becomes configure
  fs.mkdirSync(bin);
  const AUTORECONF = '#!/bin/sh\necho run >> "$KILN_TEST_RUNS.ar"\ncp configure.ac configure && chmod +x configure\n';
  fs.writeFileSync(path.join(bin, 'autoreconf'), AUTORECONF, { mode: 0o755 });
  const prepare = 'if [ ! -x ./configure ]; then autoreconf -fi; fi';
  const script = cachedConfigureScript(
    '{"configure":"./configure --prefix=/usr"}',
    './configure --prefix=/usr',
    prepare,
    {
      dir: kc,
      dpkgDir: dpkg,
    },
  );
  let n = 0;
  /** A fresh copy of the tree, changed by `edit`, then the step run in it: did configure run, and the tree. */
  const step = async (
    edit: (d: string) => void = () => {},
    epoch = '1700000000',
  ): Promise<{ ran: boolean; dir: string }> => {
    const dir = path.join(top, `t${++n}`);
    fs.cpSync(base, dir, { recursive: true, preserveTimestamps: true });
    edit(dir);
    const before = fs.existsSync(runs) ? fs.readFileSync(runs, 'utf8').length : 0;
    const env = {
      ...process.env,
      KILN_TEST_RUNS: runs,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      SOURCE_DATE_EPOCH: epoch,
    };
    const r = await run('sh', ['-ec', script], { cwd: dir, env });
    const ran = fs.readFileSync(runs, 'utf8').length > before;
    assert.equal(ran, !r.stdout.includes('configure replayed'), r.stdout + r.stderr);
    return { ran, dir };
  };
  const made = (dir: string): string => fs.readFileSync(path.join(dir, 'Makefile'), 'utf8');
  assert.ok((await step()).ran, 'the first build configures');
  const patched = await step((e) => fs.appendFileSync(path.join(e, 'a.c'), '/* one line */\n'));
  assert.ok(!patched.ran, 'a patch to a compilation unit replays');
  const d = patched.dir;
  assert.equal(made(d), 'all:\nX=yes\n');
  assert.equal(fs.readFileSync(path.join(d, 'a.c'), 'utf8'), 'int a;\n/* one line */\n', 'the patched file stays');
  assert.ok(!fs.existsSync(path.join(d, 'stale.txt')), 'what configure removed is removed');
  assert.ok(fs.statSync(path.join(d, 'config.status')).mode & 0o100, 'config.status is executable');
  const times = ['Makefile', 'config.status', 'sub/.deps/b.Po'].map((f) => fs.statSync(path.join(d, f)).mtimeMs);
  assert.ok(new Set(times).size === 1, 'the outputs have one time');
  assert.ok(times[0]! >= fs.statSync(path.join(d, 'a.c')).mtimeMs, 'newer than every input');
  for (const [what, edit] of [
    ['Makefile.in', (e: string) => fs.appendFileSync(path.join(e, 'Makefile.in'), '# more\n')],
    ['a header', (e: string) => fs.appendFileSync(path.join(e, 'a.h'), '/* x */\n')],
    ['a new compilation unit', (e: string) => fs.writeFileSync(path.join(e, 'sub/c.c'), '')],
    ['a removed one', (e: string) => fs.rmSync(path.join(e, 'sub/b.c'))],
    ['a mode', (e: string) => fs.chmodSync(path.join(e, 'a.c'), 0o755)],
    ['configure', (e: string) => fs.appendFileSync(path.join(e, 'configure'), '# x\n')],
    ['the installed packages', () => fs.appendFileSync(status, 'Package: libfoo-dev\n')],
    ['an installed file', () => fs.writeFileSync(sums, '4567  usr/bin/gcc\n')],
  ] as const) {
    await step(); // the replay kept is the unchanged tree's
    const r = await step(edit);
    assert.ok(r.ran, `a change to ${what} runs configure`);
    if (what === 'Makefile.in') assert.equal(made(r.dir), 'all:\n# more\nX=yes\n');
  }
  // SOURCE_DATE_EPOCH (left out of kiln's fixed part) counts when the tree names it: a configure may stamp a date.
  await step();
  assert.ok(!(await step(undefined, '1800000000')).ran, 'another epoch, a tree that does not read it: replayed');
  const dated = (e: string): void => fs.writeFileSync(path.join(e, 'date.sh'), 'date -d "@$SOURCE_DATE_EPOCH"\n');
  assert.ok((await step(dated)).ran);
  assert.ok(!(await step(dated)).ran);
  assert.ok((await step(dated, '1800000000')).ran, 'another epoch, a tree that reads it: configure runs');
  // The last tree again: its replay is kept; a corrupt archive under a valid key makes configure run, correctly.
  await step();
  assert.ok(!(await step()).ran);
  fs.writeFileSync(path.join(kc, 'replay.tar'), 'not an archive');
  const corrupt = await step();
  assert.ok(corrupt.ran, 'a corrupt archive is not replayed');
  assert.equal(made(corrupt.dir), 'all:\nX=yes\n');
  // A hostile replay under a valid key (the port's own earlier build wrote it): names outside the tree, a member
  // through a symlink it planted. Nothing outside the tree is removed, made or changed.
  const outside = path.join(top, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'victim'), 'v');
  const hostile = ['../outside/victim', './../outside/victim', './sub/../../outside/victim', outside];
  fs.writeFileSync(path.join(kc, 'replay.gone'), `${hostile.join('\n')}\n`);
  fs.writeFileSync(path.join(kc, 'replay.list'), `${hostile.join('\n')}\n`);
  const h = path.join(top, 'hostile');
  fs.mkdirSync(path.join(h, 'link'), { recursive: true });
  fs.writeFileSync(path.join(h, 'link', 'through'), 'x');
  fs.symlinkSync('../outside', path.join(h, 'sym'));
  const tar = path.join(kc, 'replay.tar');
  await run('tar', ['-cPf', tar, '-C', h, 'sym', '../outside/victim', path.join(outside, 'victim')]);
  await run('tar', ['-rf', tar, '-C', h, '--transform=s,^link,sym,', 'link/through']);
  await step();
  assert.deepEqual(fs.readdirSync(outside), ['victim'], 'nothing made or removed outside the tree');
  assert.equal(fs.readFileSync(path.join(outside, 'victim'), 'utf8'), 'v');
  // A cache made for another key (another jail's packages, other options) is dropped before configure runs.
  fs.writeFileSync(path.join(kc, 'key'), `${'0'.repeat(64)}\n`);
  fs.writeFileSync(path.join(kc, 'config.cache'), 'ac_cv_x=poisoned\n');
  const other = await step((e) => fs.appendFileSync(path.join(e, 'Makefile.in'), '# other\n'));
  assert.ok(other.ran, 'another tree: no replay');
  assert.equal(made(other.dir), 'all:\n# other\nX=yes\n', 'another key: its answers are not used');
  // A tree without configure: what autoreconf makes is replayed too, unless its inputs changed.
  fs.rmSync(path.join(base, 'configure'));
  fs.writeFileSync(path.join(base, 'configure.ac'), CONFIGURE);
  const regenerated = (): number => fs.readFileSync(`${runs}.ar`, 'utf8').length / 'run\n'.length;
  assert.ok((await step()).ran);
  assert.equal(regenerated(), 1);
  const again = await step((e) => fs.appendFileSync(path.join(e, 'a.c'), '/* one line */\n'));
  assert.ok(!again.ran && regenerated() === 1, 'a patch to a compilation unit: neither autoreconf nor configure');
  assert.ok(fs.statSync(path.join(again.dir, 'configure')).mode & 0o100, 'configure is back');
  const ac = await step((e) => fs.appendFileSync(path.join(e, 'configure.ac'), '# x\n'));
  assert.ok(ac.ran && regenerated() === 2, 'a patch to configure.ac: both');
});

test('a configure cache folder past its cap is removed when the next build claims the port cache', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-configure-cap-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const conf = path.join(dir, CONFIGURE_CACHE_NAME);
  fs.mkdirSync(conf);
  fs.writeFileSync(path.join(conf, 'key'), 'k\n');
  fs.writeFileSync(path.join(dir, 'obj'), 'o');
  claimCcacheDir(dir, process.getuid!());
  assert.ok(fs.existsSync(path.join(conf, 'key')), 'a small one stays');
  fs.writeFileSync(path.join(conf, 'replay.tar'), '');
  fs.truncateSync(path.join(conf, 'replay.tar'), CONFIGURE_CACHE_MAX + 1); // sparse: no real disk used
  claimCcacheDir(dir, process.getuid!());
  assert.ok(!fs.existsSync(conf), 'an oversized one goes');
  assert.ok(fs.existsSync(path.join(dir, 'obj')), "ccache's own files stay");
});
