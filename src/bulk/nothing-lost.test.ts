/**
 * Nothing is lost by accident, through the CLI on real bulks of script ports: a list file with a typo stops the bulk
 * before anything is built or published (exit 2, the list's line, a "did you mean"); origins on the command line add
 * and never delete; a removal of more than a quarter of the repository needs --yes (and -n shows it); after Ctrl-C
 * a plain rerun keeps what the interrupted run finished, and -n shows exactly that plan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore, type BuildRow } from '../store/index.js';
import type { RunResult } from '../util/exec.js';
import { kiln, scriptPort, testHome } from './testing.js';

/** The newest bulk's id, status and rows (undefined before the first bulk). */
function latest(home: string): { id: number; status: string; builds: Map<string, BuildRow> } | undefined {
  const s = openStore(home);
  try {
    const b = s.bulks.listBulks({ limit: 1 })[0];
    return b && { id: b.id, status: b.status, builds: new Map(s.bulks.builds(b.id).map((r) => [r.origin, r])) };
  } finally {
    s.close();
  }
}

/** The repository as published: origins of the current packages, and the generation folders. */
function repository(home: string): { origins: string[]; generations: string[] } {
  const s = openStore(home);
  try {
    const origins = s.bulks
      .packages('bookworm', 'nl')
      .map((p) => p.origin)
      .sort();
    const dir = path.join(home, 'repos/bookworm-nl');
    const generations = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((n) => n.startsWith('gen-'))
          .sort()
      : [];
    return { origins, generations };
  } finally {
    s.close();
  }
}

/** The plan `bulk -n --json` prints for `args`. */
async function dryRun(
  home: string,
  args: readonly string[],
): Promise<{ build: string[]; keep: string[]; delete: string[]; stderr: string }> {
  const r = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'nl', ...args, '-n', '--json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return { ...(JSON.parse(r.stdout) as { build: string[]; keep: string[]; delete: string[] }), stderr: r.stderr };
}

test('a list typo, origins on the command line, a large removal and Ctrl-C lose nothing', {
  timeout: 15 * 60_000,
}, async () => {
  const home = await testHome('kiln-nothing-lost-');
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-nl-tree-'));
  const lists = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-nl-lists-'));
  let pid: number | undefined;
  let alive = false;
  let interrupted: Promise<RunResult | Error> | undefined;
  try {
    for (const o of ['misc/hello', 'misc/world', 'misc/tools', 'misc/extra']) scriptPort(tree, o);
    assert.equal((await kiln(home, ['tree', 'add', 'nl', '--path', tree])).status, 0);
    const all = path.join(lists, 'all.list');
    fs.writeFileSync(all, 'misc/hello\nmisc/world\nmisc/tools\nmisc/extra\n');
    const first = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'nl', '-f', all, '-J', '2']);
    assert.equal(first.status, 0, first.stdout + first.stderr);
    const full = repository(home);
    assert.deepEqual(full.origins, ['misc/extra', 'misc/hello', 'misc/tools', 'misc/world']);
    const bulksBefore = latest(home)!.id;
    // The bulk's phases, each logged with its time, in order.
    const phaseLog = fs.readFileSync(path.join(home, 'logs', String(bulksBefore), 'bulk.log'), 'utf8');
    assert.deepEqual(
      [...phaseLog.matchAll(/=== phase (.+) done in \d/g)].map((m) => m[1]),
      ['resume', 'record plan', 'schedule and build', 'publish', 'summarise'],
    );

    // A typo on line 2 of a list: exit 2 before anything is built or published, the line located, a suggestion.
    const typo = path.join(lists, 'typo.list');
    fs.writeFileSync(typo, '# the greeting\nmisc/helo\nmisc/world\n');
    const bad = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'nl', '-f', typo]);
    assert.equal(bad.status, 2, bad.stdout + bad.stderr);
    assert.match(
      bad.stderr,
      new RegExp(
        `${typo.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:1: origin: misc/helo is not in tree nl \\(did you mean misc/hello\\?\\)`,
      ),
    );
    assert.deepEqual(repository(home), full, 'the repository is unchanged');
    assert.equal(latest(home)!.id, bulksBefore, 'no bulk was started');

    // Origins on the command line add: the others are kept, nothing is deleted, -n says the same.
    const hello = path.join(tree, 'misc/hello/port.yaml');
    fs.writeFileSync(hello, fs.readFileSync(hello, 'utf8').replace('version: "1.0"', 'version: "1.0"\nrevision: 2'));
    const plan = await dryRun(home, ['misc/hello']);
    assert.deepEqual(
      [plan.build, plan.delete, plan.keep],
      [['misc/hello'], [], ['misc/extra', 'misc/tools', 'misc/world']],
    );
    const one = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'nl', 'misc/hello']);
    assert.equal(one.status, 0, one.stdout + one.stderr);
    assert.match(one.stdout, /built 1, failed 0, skipped 0, kept 3, deleted 0/);
    assert.deepEqual(repository(home).origins, full.origins);

    // A list that drops three of the four packages: -n shows the removal and that it needs --yes; without it the
    // bulk stops (exit 2, nothing changes); --keep-stale keeps them; --yes removes them.
    const small = path.join(lists, 'small.list');
    fs.writeFileSync(small, 'misc/hello\n');
    const shrink = await dryRun(home, ['-f', small]);
    assert.deepEqual(shrink.delete, ['misc/extra', 'misc/tools', 'misc/world']);
    assert.match(shrink.stderr, /would remove 3 of the 4 packages .*needs --yes/);
    const gens = repository(home).generations;
    const refused = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'nl', '-f', small]);
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /would remove 3 of the 4 packages/);
    assert.match(refused.stderr, /\[KILN_E_USAGE\]\nhint: run again with --yes/);
    assert.deepEqual(repository(home), { origins: full.origins, generations: gens });
    const removed = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'nl', '-f', small, '--yes']);
    assert.equal(removed.status, 0, removed.stdout + removed.stderr);
    assert.match(removed.stdout, /deleted 3/);
    assert.deepEqual(repository(home).origins, ['misc/hello']);

    // Ctrl-C while misc/slow builds, after misc/dep (its dependency) is built: a plain rerun keeps misc/dep.
    scriptPort(tree, 'misc/dep');
    scriptPort(tree, 'misc/slow', {
      build: ['misc/dep'],
      script:
        'for i in $(seq 900); do [ -e /kiln/port/go ] && break; sleep 0.2; done\n[ -e /kiln/port/go ]\nmkdir -p "$DESTDIR/usr/share/slow"\necho s > "$DESTDIR/usr/share/slow/s.txt"',
    });
    const args = ['bulk', '-j', 'bookworm', '-p', 'nl', 'misc/slow', '-J', '1'];
    alive = true;
    interrupted = kiln(home, args, {
      onSpawn: (p) => {
        pid = p;
      },
    })
      .catch((e: unknown) => e as Error)
      .finally(() => {
        alive = false;
      });
    let rows: Map<string, BuildRow> | undefined;
    for (let waited = 0; waited < 300_000; waited += 250) {
      rows = latest(home)?.builds;
      if (rows?.get('misc/dep')?.result === 'built' && rows.get('misc/slow')?.phase === 'build') break;
      await sleep(250);
    }
    assert.equal(rows?.get('misc/slow')?.phase, 'build', 'misc/slow is building');
    process.kill(pid!, 'SIGINT');
    const stopped = await interrupted;
    assert.ok(
      !(stopped instanceof Error) && stopped.status === 1,
      String(stopped instanceof Error ? stopped : stopped.stderr),
    );
    assert.equal(latest(home)!.status, 'cancelled');
    assert.deepEqual(repository(home).origins, ['misc/hello'], 'a cancelled bulk publishes nothing');
    const depRow = latest(home)!.builds.get('misc/dep')!;

    fs.writeFileSync(path.join(tree, 'misc/slow/go'), '');
    const again = await dryRun(home, ['misc/slow']);
    assert.deepEqual([again.build, again.keep], [['misc/slow'], ['misc/dep', 'misc/hello']]);
    const rerun = await kiln(home, args);
    assert.equal(rerun.status, 0, rerun.stdout + rerun.stderr);
    assert.match(rerun.stdout, /built 1, failed 0, skipped 0, kept 2, deleted 0/);
    assert.doesNotMatch(rerun.stdout, /misc\/dep: started/, 'misc/dep was not built again');
    assert.equal(latest(home)!.builds.get('misc/dep')?.result, 'kept');
    assert.deepEqual(repository(home).origins, ['misc/dep', 'misc/hello', 'misc/slow']);
    const s = openStore(home);
    try {
      const dep = s.bulks.packages('bookworm', 'nl').find((p) => p.origin === 'misc/dep')!;
      assert.deepEqual(
        [dep.identity, dep.files],
        [depRow.identity, depRow.files],
        "the interrupted run's package is published",
      );
    } finally {
      s.close();
    }
  } finally {
    if (pid !== undefined && alive) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await interrupted;
    for (const d of [tree, lists, home]) fs.rmSync(d, { recursive: true, force: true });
  }
});
