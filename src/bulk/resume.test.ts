/**
 * A real bulk killed with SIGKILL in the middle of a build, then `kiln bulk --resume`: the same bulk completes,
 * ports finished before the kill are not built again, and no mount or sandbox is left. While the bulk runs, a
 * second bulk of the same (jail, tree) is refused; once it is dead, it blocks nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore, type BuildRow } from '../store/index.js';
import { mountsUnder, sandboxesDir } from '../sandbox/index.js';
import type { RunResult } from '../util/exec.js';
import { kiln, scriptPort, testHome } from './testing.js';

function rows(home: string): { bulk: number; status: string; builds: Map<string, BuildRow> } | undefined {
  const s = openStore(home);
  try {
    const b = s.bulks.listBulks({ limit: 1 })[0];
    return b && { bulk: b.id, status: b.status, builds: new Map(s.bulks.builds(b.id).map((r) => [r.origin, r])) };
  } finally {
    s.close();
  }
}

/** Polls the store (every 200 ms, at most `limitMs`) until `ok` holds; returns the rows it held for. */
async function until(
  home: string,
  what: string,
  ok: (b: Map<string, BuildRow>) => boolean,
  limitMs = 180_000,
): Promise<Map<string, BuildRow>> {
  for (let waited = 0; waited < limitMs; waited += 200) {
    const r = rows(home);
    if (r && ok(r.builds)) return r.builds;
    await sleep(200);
  }
  throw new Error(`timed out waiting until ${what}`);
}

const CHAIN = ['r/one', 'r/two', 'r/three', 'r/four'];

test('SIGKILL mid-build, then --resume: finished ports stay, nothing leaks; the lock refuses a live bulk only', {
  timeout: 10 * 60_000,
}, async () => {
  const home = await testHome('kiln-resume-');
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-resume-tree-'));
  let pid: number | undefined;
  let alive = true;
  let first: Promise<RunResult | Error> | undefined;
  try {
    // A chain, each build sleeping a little, so the bulk is surely in the middle of one when killed.
    CHAIN.forEach((origin, i) => {
      const n = origin.split('/')[1]!;
      scriptPort(tree, origin, {
        build: i > 0 ? [CHAIN[i - 1]!] : [],
        script: `sleep 4\nmkdir -p "$DESTDIR/usr/share/${n}"\necho ${n} > "$DESTDIR/usr/share/${n}/${n}.txt"`,
      });
    });
    assert.equal((await kiln(home, ['tree', 'add', 'rs', '--path', tree])).status, 0);
    const args = ['bulk', '-j', 'bookworm', '-p', 'rs', 'r/four', '-J', '2'];
    // `alive` turns false as soon as the child is gone, so the clean-up never signals a reused pid.
    first = kiln(home, args, {
      onSpawn: (p) => {
        pid = p;
      },
    })
      .catch((e: unknown) => e as Error)
      .finally(() => {
        alive = false;
      });

    // While it builds, a second bulk of the same (jail, tree) is refused.
    await until(home, 'r/one is building', (b) => b.get('r/one')?.phase === 'build');
    const second = await kiln(home, args);
    assert.equal(second.status, 1, second.stdout + second.stderr);
    assert.match(
      second.stderr,
      /bulk \d+ of jail bookworm and tree rs is running \(pid \d+, since .*\) \[KILN_E_LOCK\]/,
    );
    assert.match(second.stderr, /--resume/);

    // Kill it once one port is built and the next is in the middle of its build.
    const before = await until(home, 'a port is built and the next is building', (b) => {
      const i = CHAIN.findIndex((o) => b.get(o)?.result !== 'built');
      return i > 0 && b.get(CHAIN[i]!)?.result === 'running' && b.get(CHAIN[i]!)?.phase === 'build';
    });
    const killedBulk = rows(home)!.bulk;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    const killed = await first;
    assert.ok(killed instanceof Error, 'the bulk died of the signal');
    const doneBefore = CHAIN.filter((o) => before.get(o)?.result === 'built');
    assert.ok(doneBefore.length >= 1 && doneBefore.length < CHAIN.length);
    // The kill left the running build's sandbox mounted: that is what resume must clean up.
    assert.notDeepEqual(mountsUnder(home), [], 'the killed build left its overlay mounted');
    assert.equal(rows(home)?.status, 'running', 'the dead bulk still holds its row');

    const resumed = await kiln(home, [...args, '--resume']);
    assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout, /\(resumed\)/);
    const after = rows(home)!;
    assert.equal(after.status, 'done');
    assert.equal(after.bulk, killedBulk, 'the same bulk continued');
    for (const o of CHAIN) assert.equal(after.builds.get(o)?.result, 'built', o);
    // Ports finished before the kill were not built again: same row, same start and finish.
    for (const o of doneBefore) {
      const [b, a] = [before.get(o)!, after.builds.get(o)!];
      assert.deepEqual([a.id, a.started, a.finished], [b.id, b.started, b.finished], `${o} was not rebuilt`);
      assert.doesNotMatch(resumed.stdout, new RegExp(`${o}: started`), `${o} was not started again`);
    }
    // The rest were (the half-done one from scratch).
    const rest = CHAIN.filter((o) => !doneBefore.includes(o));
    for (const o of rest) assert.match(resumed.stdout, new RegExp(`\\] \\[\\d\\] ${o}: built in`));
    // Nothing leaked: no mount under the home, no sandbox folder.
    assert.deepEqual(mountsUnder(home), []);
    const left = fs.readdirSync(sandboxesDir(home)).filter((n) => n !== '.trash');
    assert.deepEqual(left, []);
    const trash = path.join(sandboxesDir(home), '.trash');
    assert.deepEqual(fs.existsSync(trash) ? fs.readdirSync(trash) : [], []);

    // The finished bulk holds no lock: a later bulk of the pair runs (nothing to build now).
    const again = await kiln(home, args);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /built 0, failed 0, skipped 0, kept 4/);
  } finally {
    if (pid !== undefined && alive) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await first;
    fs.rmSync(tree, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test('bulks of different (jail, tree) pairs run at the same time', { timeout: 10 * 60_000 }, async () => {
  const home = await testHome('kiln-pairs-');
  const trees = [
    fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-pair-a-')),
    fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-pair-b-')),
  ];
  const [ta, tb] = trees as [string, string];
  let pid: number | undefined;
  let alive = true;
  let first: Promise<RunResult | Error> | undefined;
  try {
    // Pair A's port waits (bounded) for a file in its port folder, which the test makes once pair B is done.
    scriptPort(ta, 'p/waits', {
      script:
        'for i in $(seq 900); do [ -e /kiln/port/go ] && break; sleep 0.2; done\n[ -e /kiln/port/go ]\nmkdir -p "$DESTDIR/usr/share/waits"\necho w > "$DESTDIR/usr/share/waits/w.txt"',
    });
    scriptPort(tb, 'p/quick');
    assert.equal((await kiln(home, ['tree', 'add', 'pa', '--path', ta])).status, 0);
    assert.equal((await kiln(home, ['tree', 'add', 'pb', '--path', tb])).status, 0);
    first = kiln(home, ['bulk', '-j', 'bookworm', '-p', 'pa', 'p/waits'], {
      onSpawn: (p) => {
        pid = p;
      },
    })
      .catch((e: unknown) => e as Error)
      .finally(() => {
        alive = false;
      });
    await until(home, 'pair A is building', (builds) => builds.get('p/waits')?.phase === 'build');
    const b = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'pb', 'p/quick']);
    assert.equal(b.status, 0, b.stdout + b.stderr);
    assert.equal(rows(home)?.builds.get('p/quick')?.result, 'built');
    // Pair A was still building all along, and its sandbox survived B's start-up cleanup.
    const s = openStore(home);
    try {
      const a = s.bulks.listBulks({ tree: 'pa', limit: 1 })[0]!;
      assert.equal(a.status, 'running');
      assert.equal(s.bulks.builds(a.id).find((r) => r.origin === 'p/waits')?.result, 'running');
    } finally {
      s.close();
    }
    fs.writeFileSync(path.join(ta, 'p/waits/go'), '');
    const a = await first;
    assert.ok(!(a instanceof Error) && a.status === 0, a instanceof Error ? a.message : a.stdout + a.stderr);
    assert.deepEqual(mountsUnder(home), []);
  } finally {
    if (pid !== undefined && alive) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await first;
    for (const t of trees) fs.rmSync(t, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
