/**
 * `kiln testport` for real: the dependency is built and published as a bulk would, the port is built and not
 * published, `-i` opens a shell in the failed build's sandbox through a real pseudo-terminal (`script(1)`), `-I`
 * after a good build (with QA: lintian and the install test), `--keep` leaves the sandbox for `kiln sandbox shell` and `rm`; nothing stays mounted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../util/exec.js';
import { REPO_ROOT, kiln, scriptPort, testHome } from '../../bulk/testing.js';
import { openStore } from '../../store/index.js';
import { gateDir, mountsUnder } from '../../sandbox/index.js';

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Typed into a shell: its user namespace's id map, and whether the build user may write its build folder. */
const inNs =
  "echo \"map=$(head -n1 /proc/self/uid_map | tr -s ' ' | sed 's/^ //')\"; touch /kiln/src/shell-was-here && echo can-write; ";

/** The shell ran in a user namespace (root inside is a high host id) as the owner of the build folder. */
function assertInNs(screen: string): void {
  const base = /^map=0 (\d+) 65536$/m.exec(screen)?.[1];
  assert.ok(base !== undefined && Number(base) > 0, `the shell is in the sandbox's user namespace:\n${screen}`);
  assert.match(screen, /^can-write$/m, 'the build user owns its build folder in the shell');
}

/** Runs kiln in a fresh pseudo-terminal made by script(1), typing `input` into it; returns what the terminal showed. */
async function kilnInPty(
  home: string,
  args: readonly string[],
  input: string,
): Promise<{ status: number | null; screen: string }> {
  const cmd = [process.execPath, '--import', 'tsx', path.join(REPO_ROOT, 'src/cli/bin.ts'), ...args, '--home', home]
    .map(q)
    .join(' ');
  const r = await run('script', ['-qfec', cmd, '/dev/null'], {
    cwd: REPO_ROOT,
    input,
    allowFailure: true,
    timeoutMs: 10 * 60_000,
  });
  return { status: r.status, screen: r.stdout.replace(/\r|\0|\x1b\[[0-9;?]*[A-Za-z]/g, '') };
}

test('kiln testport: dependencies published, the port not; -i shell on failure, -I, --keep and kiln sandbox', async () => {
  const home = await testHome('kiln-testport-');
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-testport-tree-'));
  try {
    scriptPort(tree, 'misc/dep');
    scriptPort(tree, 'misc/broken', {
      build: ['misc/dep'],
      script: [
        'echo "about to fail"',
        'mkdir -p "$DESTDIR/usr/share/broken"',
        'cat /usr/share/dep/dep.txt > "$DESTDIR/usr/share/broken/x"',
        'ls /no/such/file',
        'echo never',
      ].join('\n'),
    });
    scriptPort(tree, 'misc/good', { build: ['misc/dep'] });
    assert.equal((await kiln(home, ['tree', 'add', 't', '--path', tree])).status, 0);

    // Without a terminal, -i is a usage error before anything is built.
    const noTty = await kiln(home, ['testport', '-j', 'bookworm', '-p', 't', 'misc/broken', '-i']);
    assert.equal(noTty.status, 2, noTty.stderr);
    assert.match(noTty.stderr, /-i opens a shell and needs a terminal/);

    // -i: the failed build's sandbox, as the build user, in the build folder, with the build's environment.
    // It enters the sandbox's user namespace as the build's steps did (root there is not host root), so the build
    // user owns its build folder.
    const typed = `echo "where=$(pwd) who=$(id -un) origin=$KILN_ORIGIN"; cat /usr/share/dep/dep.txt; ${inNs}exit 3\n`;
    const s = await kilnInPty(home, ['testport', '-j', 'bookworm', '-p', 't', 'misc/broken', '-i'], typed);
    assert.equal(s.status, 1, s.screen);
    assert.match(s.screen, /building 1 missing dependency of misc\/broken first: misc\/dep/);
    assert.match(
      s.screen,
      /kiln: phase build failed: build failed \(exit status 2\): ls \/no\/such\/file exited with status 2/,
    );
    assert.match(s.screen, /kiln: the command that failed: ls \/no\/such\/file/);
    assert.match(s.screen, /\| ! ls: cannot access '\/no\/such\/file'/, 'the log tail is shown above the prompt');
    assert.match(s.screen, /where=\/kiln\/src who=kiln origin=misc\/broken/);
    assert.match(s.screen, /^dep$/m, 'the dependency is installed in the sandbox');
    assertInNs(s.screen);
    assert.match(s.screen, /left the shell; tearing the sandbox down/);
    assert.deepEqual(mountsUnder(home), [], 'leaving the shell tears the sandbox down');
    const store = openStore(home);
    try {
      const pkgs = store.bulks.packages('bookworm', 't').map((p) => p.origin);
      assert.deepEqual(pkgs, ['misc/dep'], 'the dependency is published, the tested port is not');
    } finally {
      store.close();
    }

    // -I: a shell after the last phase of a good build; the .deb is where it says.
    // (The package phase moves DESTDIR's files into the packages' roots under /kiln/pkg.)
    const g = await kilnInPty(
      home,
      ['testport', '-j', 'bookworm', '-p', 't', 'misc/good', '-I'],
      'ls /kiln/pkg/good/usr/share/good; exit\n',
    );
    assert.equal(g.status, 0, g.screen);
    assert.match(g.screen, /the build succeeded; a shell in its sandbox/);
    assert.match(g.screen, /^good\.txt$/m);
    const deb = /deb: (\S+\.deb)/.exec(g.screen)?.[1];
    assert.ok(deb && fs.existsSync(deb), g.screen);
    assert.ok(deb.startsWith(path.join(home, 'testport')), 'not in the repository');
    // QA always runs in testport: lintian's tags by severity and the install test, in the log and the summary.
    assert.match(g.screen, /phase qa/);
    assert.match(g.screen, /qa: lintian \d+ E, .*; install test passed/);
    const glog = fs.readFileSync(path.join(path.dirname(deb), 'build.log'), 'utf8');
    assert.match(glog, /\] E: good: [a-z0-9-]+/, "lintian's tags are in the log by severity");
    assert.match(glog, /install test: passed/);

    // --keep: no shell, the sandbox stays; kiln sandbox list | shell ID | rm ID reach it.
    const k = await kiln(home, ['testport', '-j', 'bookworm', '-p', 't', 'misc/broken', '--keep']);
    assert.equal(k.status, 1, k.stderr);
    const id = /sandbox kept: (\S+)/.exec(k.stdout)?.[1];
    assert.ok(id, k.stdout);
    const list = await kiln(home, ['sandbox', 'list']);
    assert.match(list.stdout, new RegExp(`${id}  misc/broken  jail bookworm  failed in build`));
    const sh = await kilnInPty(
      home,
      ['sandbox', 'shell', id],
      `cat /kiln/destdir/usr/share/broken/x; pwd; ${inNs}exit\n`,
    );
    assert.equal(sh.status, 0, sh.screen);
    assertInNs(sh.screen);
    assert.match(sh.screen, /the command that failed: ls \/no\/such\/file/);
    assert.match(sh.screen, /^dep\n\/kiln\/src$/m);
    assert.ok(mountsUnder(home).length > 0, 'the kept sandbox stays mounted after its shell');
    const rm = await kiln(home, ['sandbox', 'rm', id]);
    assert.equal(rm.status, 0, rm.stderr);
    assert.deepEqual(mountsUnder(home), []);
    assert.deepEqual(mountsUnder(path.join(gateDir(), id)), [], 'its gate is unmounted too');
    // kiln clean sandboxes removes every kept one.
    assert.equal((await kiln(home, ['testport', '-j', 'bookworm', '-p', 't', 'misc/broken', '--keep'])).status, 1);
    const clean = await kiln(home, ['clean', 'sandboxes']);
    assert.match(clean.stdout, /removed sandbox \S+ \(misc\/broken\)/);
    assert.deepEqual(mountsUnder(home), []);
    assert.match((await kiln(home, ['sandbox', 'list'])).stdout, /no kept sandboxes/);
  } finally {
    await run('umount', ['-R', path.join(home, 'kept-sandboxes')], { allowFailure: true }).catch(() => undefined);
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(tree, { recursive: true, force: true });
  }
});
