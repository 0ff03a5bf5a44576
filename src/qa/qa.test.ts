/**
 * QA for real: lintian's output parsed by severity, the host's lintian run sandboxed on a real `.deb`, and the
 * install test in a sandbox of the test jail: a clean package passes, a failing maintainer script fails it, a file a
 * postinst leaves behind after the purge is reported, a file `dpkg -L` lists but removed is reported missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { testJail } from '../jail/index.js';
import { mountsUnder, settleRemovals } from '../sandbox/index.js';
import { allowedLeftover, installTest, parseLintian, runLintian } from './index.js';

/** A tiny package with one file and the given maintainer scripts. */
async function deb(dir: string, name: string, scripts: Record<string, string> = {}): Promise<string> {
  const root = fs.mkdtempSync(path.join(dir, 'root-'));
  fs.mkdirSync(path.join(root, 'DEBIAN'));
  fs.mkdirSync(path.join(root, 'usr/share', name), { recursive: true });
  fs.writeFileSync(path.join(root, 'usr/share', name, 'data.txt'), `${name}\n`);
  fs.writeFileSync(
    path.join(root, 'DEBIAN/control'),
    [
      `Package: ${name}`,
      'Version: 1.0-k1',
      'Architecture: all',
      'Maintainer: kiln <kiln@localhost>',
      `Description: test package ${name}`,
      ' It holds one file.',
      '',
    ].join('\n'),
  );
  for (const [k, v] of Object.entries(scripts))
    fs.writeFileSync(path.join(root, 'DEBIAN', k), `#!/bin/sh\nset -e\n${v}\n`, { mode: 0o755 });
  const out = path.join(dir, `${name}_1.0-k1_all.deb`);
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out]);
  return out;
}

test('lintian output is read by severity', () => {
  const tags = parseLintian(
    'E: dep: bogus-mail-host Maintainer kiln@localhost\nW: dep: unknown-field X-Kiln-Identity\nN: note\nI: dep source: some-tag [a/b]\n',
  );
  assert.deepEqual(
    tags.map((t) => [t.severity, t.package, t.tag, t.info]),
    [
      ['E', 'dep', 'bogus-mail-host', 'Maintainer kiln@localhost'],
      ['W', 'dep', 'unknown-field', 'X-Kiln-Identity'],
      ['I', 'dep', 'some-tag', '[a/b]'],
    ],
  );
  assert.ok(
    allowedLeftover('/var/log/dpkg.log') && !allowedLeftover('/etc/leftover.conf') && !allowedLeftover('/variable'),
  );
});

test('QA: sandboxed lintian and the install test (clean, failing postinst, leftovers, missing files)', async () => {
  const jail = await testJail();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-qa-'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-qa-debs-'));
  const log: string[] = [];
  const opts = {
    home,
    jail: { name: 'test', path: jail.path },
    repoDebs: [],
    log: (l: string) => {
      log.push(l);
    },
  };
  try {
    // Its postinst tells who root is on the host (the user namespace's map) and which network interfaces it sees.
    const good = await deb(dir, 'qagood', {
      postinst:
        "echo \"qa-probe: uid_map $(head -n1 /proc/self/uid_map | tr -s ' ' | sed 's/^ //') net $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')\"",
    });
    const lint = await runLintian([good]);
    assert.equal(lint.error, undefined, lint.output);
    assert.ok(
      lint.tags.some((t) => t.severity === 'E' && t.package === 'qagood' && t.tag === 'bogus-mail-host'),
      lint.output,
    );
    assert.ok(!/running with root privileges/.test(lint.output), 'lintian runs as the build user');

    const ok = await installTest({ ...opts, debs: [good], label: 'good' });
    assert.ok(ok.ok, `${ok.reason}\n${log.join('\n')}`);
    assert.deepEqual(ok.packages, ['qagood=1.0-k1']);
    assert.deepEqual([ok.missing, ok.leftovers], [[], []]);
    const probe = log.find((x) => x.startsWith('qa-probe: '));
    const m = /^qa-probe: uid_map 0 (\d+) 65536 net (.*)$/.exec(probe ?? '');
    assert.ok(
      m && Number(m[1]) > 0,
      `the maintainer scripts run in a user namespace (root is not host root): ${probe}`,
    );
    assert.equal(m[2]!.trim(), 'lo', 'the maintainer scripts have no network');

    const badDir = fs.mkdtempSync(path.join(dir, 'bad-'));
    const bad = await deb(badDir, 'qabad', { postinst: 'echo "postinst of qabad fails" >&2\nexit 3' });
    const b = await installTest({ ...opts, debs: [bad], label: 'bad' });
    assert.equal(b.ok, false);
    assert.match(b.reason ?? '', /the install step failed .*post-installation script .*exit status 3/, b.reason);

    const leakDir = fs.mkdtempSync(path.join(dir, 'leak-'));
    const leak = await deb(leakDir, 'qaleak', { postinst: 'echo x > /etc/qaleak.conf\nrm /usr/share/qaleak/data.txt' });
    const l = await installTest({ ...opts, debs: [leak], label: 'leak' });
    assert.deepEqual(l.leftovers, ['/etc/qaleak.conf']);
    assert.deepEqual(l.missing, ['/usr/share/qaleak/data.txt']);
    assert.equal(l.ok, false, 'a file dpkg -L lists but missing fails the test');
    await settleRemovals();
    assert.deepEqual(mountsUnder(home), []);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
