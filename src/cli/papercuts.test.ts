/**
 * What a new user runs into first: a closed pipe, global options before the command, read commands at a home that
 * does not exist, typos and poudriere's words, `kiln help CMD`, `kiln status` of a running bulk, `kiln logs -f`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { REPO_ROOT } from '../bulk/testing.js';
import { fixtureHome } from '../report/testing.js';
import { openStore } from '../store/index.js';
import { main } from './main.js';
import { didYouMean, hoistGlobals } from './suggest.js';

function capture(home: string) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    ctx: {
      home,
      out: (t: string) => {
        out.push(t);
      },
      err: (t: string) => {
        err.push(t);
      },
      isTTY: false,
      env: {},
      cwd: home,
    },
  };
}

const bin = [process.execPath, '--import', 'tsx', path.join(REPO_ROOT, 'src/cli/bin.ts')];

test('words: did you mean, global options hoisted', () => {
  assert.deepEqual(didYouMean('statsu', ['status', 'serve', 'simulate']), ['status']);
  assert.deepEqual(didYouMean('misc/helo', ['misc/hello', 'misc/help', 'devel/libmd']), ['misc/hello', 'misc/help']);
  assert.deepEqual(didYouMean('zzz', ['status']), []);
  assert.deepEqual(hoistGlobals(['--home', '/h', '--json', 'status', '3']), ['status', '--home', '/h', '--json', '3']);
  assert.deepEqual(hoistGlobals(['status', '--home', '/h']), ['status', '--home', '/h']);
});

test('the command line: unknown words, poudriere words, help CMD, read commands at a missing home', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-papercuts-'));
  try {
    const home = path.join(dir, 'nohome');
    let c = capture(home);
    assert.equal(await main(['statsu'], c.ctx), 2);
    assert.match(c.err.join('\n'), /unknown command "statsu" \(did you mean status\?\)/);
    c = capture(home);
    assert.equal(await main(['pkgclean'], c.ctx), 2);
    assert.match(c.err.join('\n'), /poudriere's pkgclean is `kiln clean packages` in kiln/);
    c = capture(home);
    assert.equal(await main(['distclean'], c.ctx), 2);
    assert.match(c.err.join('\n'), /`kiln clean distfiles`/);
    c = capture(home);
    assert.equal(await main(['bulk', '-j', 'x', '-p', 'y', '-c', '-a'], c.ctx), 2);
    assert.match(c.err.join('\n'), /kiln's is -C/);
    c = capture(home);
    assert.equal(await main(['help', 'clean'], c.ctx), 0);
    assert.match(c.out.join('\n'), /^usage: kiln clean/);
    // Global options before the command; read commands never create a home.
    for (const argv of [
      ['--home', home, 'status'],
      ['logs', '1', 'misc/a', '--home', home],
      ['tree', 'list'],
      ['repo', 'show', 'x-y'],
    ]) {
      c = capture(home);
      assert.equal(await main(argv, c.ctx), 2, argv.join(' '));
      assert.deepEqual(c.err, [`kiln: no kiln home at ${home} (kiln jail create makes one)`], argv.join(' '));
    }
    assert.equal(fs.existsSync(home), false, 'nothing was created');
    // Did you mean, for jails and origins (kiln testport).
    const real = path.join(dir, 'home');
    const st = openStore(real);
    try {
      st.putJail({
        name: 'bookworm',
        release: 'bookworm',
        arch: 'amd64',
        mirror: 'http://mirror.invalid/debian',
        path: '/nonexistent',
        identity: 'i',
        manifestHash: 'm',
      });
    } finally {
      st.close();
    }
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(path.join(tree, 'misc/hello'), { recursive: true });
    fs.writeFileSync(
      path.join(tree, 'misc/hello/port.yaml'),
      'version: "1.0"\nsummary: hello\nbuild:\n  system: make\n',
    );
    c = capture(real);
    assert.equal(await main(['testport', '-j', 'bookwrom', '-p', tree, 'misc/hello'], c.ctx), 2);
    assert.match(c.err.join('\n'), /no jail named bookwrom \(did you mean bookworm\?\)/);
    c = capture(real);
    assert.equal(await main(['testport', '-j', 'bookworm', '-p', tree, 'misc/helo'], c.ctx), 2);
    assert.match(c.err.join('\n'), /no port misc\/helo in tree \S+ \(did you mean misc\/hello\?\)/);
    const r = await run(bin[0]!, [...bin.slice(1), '--home', home, 'status'], { cwd: REPO_ROOT, allowFailure: true });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `kiln: no kiln home at ${home} (kiln jail create makes one)\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a closed pipe ends kiln quietly; status of a running bulk; logs -f follows a running build', async () => {
  const f = fixtureHome();
  try {
    // A big log through `| head -1`: kiln must not print an EPIPE stack trace.
    const big = Array.from({ length: 200_000 }, (_, i) => `[t] line ${i}`).join('\n');
    fs.writeFileSync(path.join(f.home, 'logs', String(f.done), 'misc_a.log'), big);
    const cmd = `${bin.map((a) => `'${a}'`).join(' ')} logs ${f.done} misc/a --home '${f.home}' | head -1; echo "status \${PIPESTATUS[0]}" >&2`;
    const p = await run('bash', ['-c', cmd], { cwd: REPO_ROOT, allowFailure: true });
    assert.equal(p.stdout, '[t] line 0\n');
    assert.equal(p.stderr, 'status 0\n');

    // status of a running bulk: counts, elapsed time, ETA, what builds.
    f.append(f.running, [
      {
        type: 'progress',
        t: Date.now(),
        counts: { built: 0, failed: 0, skipped: 0, kept: 0, deleted: 0, remaining: 3 },
        etaS: 600,
        elapsedS: 1,
      },
    ]);
    let c = capture(f.home);
    assert.equal(await main(['status', String(f.running)], c.ctx), 0);
    const text = c.out.join('\n');
    assert.match(text, /bulk \d+: running/);
    assert.match(text, /built 0, failed 0, skipped 0, kept 0, deleted 0, remaining 3/);
    assert.match(text, /elapsed \S+, ETA (9m5\ds|10m00s); building: misc\/slow/);

    // logs -f: what is there, then what is appended, until the build ends.
    const logFile = path.join(f.home, 'logs', String(f.running), 'misc_slow.log');
    const follow = run(bin[0]!, [...bin.slice(1), 'logs', '-f', String(f.running), 'misc/slow', '--home', f.home], {
      cwd: REPO_ROOT,
      allowFailure: true,
      timeoutMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 3000));
    fs.appendFileSync(logFile, '[t] compiling\n[t] linking\n');
    await new Promise((r) => setTimeout(r, 1000));
    const s = openStore(f.home);
    try {
      s.bulks.setBuild(f.running, 'misc/slow', { result: 'built', finished: new Date().toISOString() });
    } finally {
      s.close();
    }
    const fr = await follow;
    assert.equal(fr.status, 0, fr.stderr);
    assert.equal(fr.stdout, '[t] === phase build started\n[t] compiling\n[t] linking\n');
    c = capture(f.home);
    assert.equal(await main(['logs', String(f.done), 'misc/aa'], c.ctx), 2);
    assert.match(c.err.join('\n'), /has no port misc\/aa \(did you mean misc\/a\?\)/);
  } finally {
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});
