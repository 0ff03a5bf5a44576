/**
 * `kiln bulk` killed with SIGKILL at random instants of its publish, again and again: after each kill the served
 * (`current`) generation is whole (every index matches Release, every .deb matches Packages) and apt in a fresh
 * Debian root updates from it cleanly and fetches a package. A tree of script ports keeps each bulk short; a
 * revision bump of one port forces a build and a publish every time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExecError, run } from '../util/exec.js';
import { freshRoot } from '../repo/testing.js';
import { repoInfo, verifyGeneration } from '../repo/index.js';
import { buildServer } from '../server/index.js';
import { kiln, scriptPort, testHome } from './testing.js';

const KILLS = 20;
const MAX_ROUNDS = 60;

/** Problems of the generation `current` points at: indexes against Release, pool files against Packages. */
function checkCurrent(repo: string, jail: string): string[] {
  const gen = fs.realpathSync(path.join(repo, 'current'));
  const problems = verifyGeneration(gen, jail);
  const packages = fs.readFileSync(path.join(gen, 'dists', jail, 'main', 'binary-amd64', 'Packages'), 'utf8');
  for (const stanza of packages.split('\n\n').filter((s) => s.trim() !== '')) {
    const field = (f: string): string | undefined => new RegExp(`^${f}: (.*)$`, 'm').exec(stanza)?.[1];
    const file = field('Filename')!;
    let data: Buffer;
    try {
      data = fs.readFileSync(path.join(gen, file));
    } catch {
      problems.push(`${file} is missing`);
      continue;
    }
    if (
      data.length !== Number(field('Size')) ||
      crypto.createHash('sha256').update(data).digest('hex') !== field('SHA256')
    ) {
      problems.push(`${file} does not match Packages`);
    }
  }
  return problems;
}

test(`kiln bulk SIGKILLed ${KILLS} times during its publish: the current generation stays whole and apt updates cleanly`, {
  timeout: 30 * 60_000,
}, async (t) => {
  const home = await testHome('kiln-publish-kill-');
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-kill-tree-'));
  const origins = ['misc/alpha', 'misc/beta', 'misc/gamma', 'misc/delta'];
  scriptPort(tree, 'misc/alpha');
  scriptPort(tree, 'misc/beta', { run: ['misc/alpha'] });
  scriptPort(tree, 'misc/gamma');
  scriptPort(tree, 'misc/delta', { build: ['misc/gamma'] });
  const list = path.join(tree, 'pkglist.txt');
  fs.writeFileSync(list, `${origins.join('\n')}\n`);
  const recipe = path.join(tree, 'misc/alpha/port.yaml');
  const base = fs.readFileSync(recipe, 'utf8');
  const root = await freshRoot();
  const app = await buildServer({ home });
  const repo = path.join(home, 'repos/bookworm-kill');
  try {
    assert.equal((await kiln(home, ['tree', 'add', 'kill', '--path', tree])).status, 0);
    const first = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'kill', '-f', list, '-J', '1']);
    assert.equal(first.status, 0, first.stdout + first.stderr);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const info = repoInfo(
      home,
      'bookworm',
      'kill',
      `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    );
    fs.writeFileSync(
      path.join(root.dir, info.keyringPath),
      Buffer.from(await (await fetch(info.keyUrl)).arrayBuffer()),
    );
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list.d/kiln.list'), `${info.sourcesLine}\n`);
    const aptClean = async (round: number): Promise<void> => {
      const up = await root.exec(['apt-get', 'update'], { allowFailure: true });
      assert.equal(up.status, 0, `round ${round}: apt-get update failed:\n${up.stdout}${up.stderr}`);
      assert.doesNotMatch(
        up.stdout + up.stderr,
        /^(W|E|Err):/m,
        `round ${round}: apt-get update was not clean:\n${up.stdout}${up.stderr}`,
      );
      const dl = await root.exec(['sh', '-c', 'cd /tmp && rm -f alpha_*.deb && apt-get download alpha'], {
        allowFailure: true,
      });
      assert.equal(dl.status, 0, `round ${round}: apt-get download failed:\n${dl.stdout}${dl.stderr}`);
    };
    await aptClean(0);

    // How long a publish takes here: from the last build's end to the bulk's exit, measured on unkilled rounds.
    let publishMs = 2000;
    let kills = 0;
    let killedBefore = 0; // kills that left the previous generation current
    let killedAfter = 0; // kills after the switch to the new one
    let rounds = 0;
    let revision = 1;
    for (; kills < KILLS && rounds < MAX_ROUNDS; rounds++) {
      revision++;
      fs.writeFileSync(recipe, `${base}revision: ${revision}\n`);
      const before = fs.readlinkSync(path.join(repo, 'current'));
      let pid = 0;
      let lastDone = 0;
      let timer: NodeJS.Timeout | undefined;
      let buffered = '';
      const delay = Math.random() * publishMs;
      const res = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'kill', '-f', list, '-J', '1', '--json'], {
        onSpawn: (p) => {
          pid = p;
        },
        onOutput: (chunk, stream) => {
          if (stream !== 'stdout') return;
          buffered += chunk.toString('utf8');
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const l of lines) {
            let e: { type?: string; counts?: { remaining?: number } };
            try {
              e = JSON.parse(l) as typeof e;
            } catch {
              continue;
            }
            // The last build is done: the publish starts now. Kill at a random instant of it.
            if (e.type === 'progress' && e.counts?.remaining === 0 && lastDone === 0) {
              lastDone = Date.now();
              timer = setTimeout(() => {
                try {
                  process.kill(pid, 'SIGKILL');
                } catch {
                  /* gone */
                }
              }, delay);
            }
          }
        },
      }).catch((e: unknown) => {
        // run() reports a child ended by a signal as an ExecError; here that is the kill we meant.
        if (e instanceof ExecError && e.reason === 'signal')
          return { status: null, signal: e.signal, stdout: e.stdout, stderr: e.stderr };
        throw e;
      });
      if (timer) clearTimeout(timer);
      assert.ok(lastDone > 0, `round ${rounds}: the bulk built its port:\n${res.stdout.slice(-2000)}${res.stderr}`);
      if (res.signal === 'SIGKILL') {
        kills++;
        if (fs.readlinkSync(path.join(repo, 'current')) === before) killedBefore++;
        else killedAfter++;
      } else {
        assert.equal(res.status, 0, `round ${rounds}: ${res.stderr}`);
        publishMs = Math.max(200, Date.now() - lastDone);
        assert.notEqual(
          fs.readlinkSync(path.join(repo, 'current')),
          before,
          'an unkilled bulk published a new generation',
        );
      }
      assert.deepEqual(
        checkCurrent(repo, 'bookworm'),
        [],
        `round ${rounds} (${res.signal ?? 'exit'} after ${delay.toFixed(0)} ms): current is whole`,
      );
      await aptClean(rounds + 1);
    }
    assert.ok(kills >= KILLS, `${kills} kills landed in ${rounds} rounds`);
    t.diagnostic(
      `${kills} kills in ${rounds} rounds: ${killedBefore} before the switch of current, ${killedAfter} after; publish ~${publishMs} ms`,
    );
    // After the kills, a bulk finishes the job and publishes the newest revision.
    const last = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'kill', '-f', list, '-J', '1']);
    assert.equal(last.status, 0, last.stdout + last.stderr);
    assert.deepEqual(checkCurrent(repo, 'bookworm'), []);
    await aptClean(rounds + 1);
    const policy = await root.exec(['apt-cache', 'policy', 'alpha']);
    assert.match(policy.stdout, new RegExp(`Candidate: 1\\.0-k${revision}`));
  } finally {
    await app.close();
    root.dispose();
    await run('gpgconf', ['--homedir', path.join(home, 'keys/gnupg'), '--kill', 'gpg-agent'], {
      allowFailure: true,
    }).catch(() => undefined);
    fs.rmSync(tree, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
