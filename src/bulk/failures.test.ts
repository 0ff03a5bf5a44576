/**
 * Real bulks of tiny script ports over the shared test jail: a failure in the middle of a chain, the outputs for
 * people (timestamped lines off a TTY) and machines (`--json`), tests with `-t`, and the job budget as a build sees
 * it (`MAKEFLAGS`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type BuildRow } from '../store/index.js';
import { mountsUnder } from '../sandbox/index.js';
import { kiln, scriptPort, testHome } from './testing.js';
import type { BulkEvent } from './events.js';

function rows(home: string, bulk: number): Map<string, BuildRow> {
  const s = openStore(home);
  try {
    return new Map(s.bulks.builds(bulk).map((r) => [r.origin, r]));
  } finally {
    s.close();
  }
}

function latestBulk(home: string): number {
  const s = openStore(home);
  try {
    return s.bulks.listBulks({ limit: 1 })[0]!.id;
  } finally {
    s.close();
  }
}

async function setup(prefix: string): Promise<{ home: string; tree: string; done: () => void }> {
  const home = await testHome(prefix);
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}tree-`));
  return {
    home,
    tree,
    done: () => {
      fs.rmSync(home, { recursive: true, force: true });
      fs.rmSync(tree, { recursive: true, force: true });
    },
  };
}

test('a failing port in the middle of a chain skips its dependents, builds the rest, and is the most offending', {
  timeout: 10 * 60_000,
}, async () => {
  const { home, tree, done } = await setup('kiln-fail-');
  try {
    scriptPort(tree, 't/aa');
    scriptPort(tree, 't/bb', { build: ['t/aa'], script: 'echo "b is about to fail"\nexit 3' });
    scriptPort(tree, 't/cc', { build: ['t/bb'] });
    scriptPort(tree, 't/dd');
    assert.equal((await kiln(home, ['tree', 'add', 'fx', '--path', tree])).status, 0);
    const r = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'fx', 't/cc', 't/dd', '-J', '2']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const id = latestBulk(home);
    const b = rows(home, id);
    assert.equal(b.get('t/aa')?.result, 'built');
    assert.equal(b.get('t/dd')?.result, 'built');
    assert.equal(b.get('t/bb')?.result, 'failed');
    assert.equal(b.get('t/bb')?.phase, 'build');
    assert.equal(b.get('t/bb')?.failure, 'build');
    assert.equal(b.get('t/cc')?.result, 'skipped');
    assert.match(b.get('t/cc')?.reason ?? '', /depends on t\/bb, which failed in phase build/);
    assert.equal(b.get('t/cc')?.started, undefined, 'a skipped port never started');

    // The summary for a person: counts, the failure with its phase, the skipped port's reason, the offender.
    assert.match(r.stdout, new RegExp(`^bulk ${id}: built 2, failed 1, skipped 1, kept 0, deleted 0 in `, 'm'));
    assert.match(r.stdout, /^ {2}failed {2}t\/bb \(phase build\): build failed \(exit status 3\)/m);
    assert.match(r.stdout, /^ {2}skipped t\/cc: depends on t\/bb/m);
    assert.match(r.stdout, /^ {2}most offending: t\/bb \(blocked 1\)$/m);
    // Off a TTY, the progress before the summary is plain timestamped lines (no escape codes).
    const lines = r.stdout.split('\n');
    const progress = lines.slice(
      0,
      lines.findIndex((l) => l.startsWith(`bulk ${id}: built`)),
    );
    assert.ok(progress.length >= 5, r.stdout);
    for (const l of progress) assert.match(l, /^\[\d\d:\d\d:\d\d\] \S/, `a timestamped line: ${JSON.stringify(l)}`);
    assert.doesNotMatch(r.stdout, /\x1b\[/);
    assert.ok(
      progress.some((l) => /\] \[\d\] t\/bb: FAILED in phase build after \d+s: /.test(l)),
      r.stdout,
    );
    assert.ok(
      progress.some((l) => /\] t\/cc: skipped, depends on t\/bb which failed$/.test(l)),
      r.stdout,
    );

    // The same counts for machines, and the offenders.
    const st = await kiln(home, ['status', String(id), '--json']);
    assert.equal(st.status, 0, st.stderr);
    const s = JSON.parse(st.stdout) as {
      bulk: { status: string; counts: Record<string, number> };
      offenders: { origin: string; blocked: number }[];
    };
    assert.equal(s.bulk.status, 'failed');
    assert.deepEqual(s.bulk.counts, { built: 2, failed: 1, skipped: 1, kept: 0, deleted: 0, remaining: 0 });
    assert.deepEqual(s.offenders, [{ origin: 't/bb', blocked: 1 }]);
    const text = await kiln(home, ['status', String(id)]);
    assert.match(text.stdout, /most offending: t\/bb \(blocked 1\)/);
    assert.deepEqual(mountsUnder(home), []);
  } finally {
    done();
  }
});

test('--json events, -t runs the test step, and the job budget reaches the build as MAKEFLAGS', {
  timeout: 10 * 60_000,
}, async () => {
  const { home, tree, done } = await setup('kiln-tjson-');
  const cores = os.availableParallelism();
  try {
    const say = (n: string): string =>
      `echo "MAKEFLAGS=$MAKEFLAGS"\nmkdir -p "$DESTDIR/usr/share/${n}"\necho ${n} > "$DESTDIR/usr/share/${n}/${n}.txt"`;
    scriptPort(tree, 't/pp', { script: say('pp') });
    scriptPort(tree, 't/qq', { script: say('qq'), parallel: false });
    scriptPort(tree, 't/xx', { script: say('xx'), test: 'echo "the test runs"\nexit 4' });
    assert.equal((await kiln(home, ['tree', 'add', 'tj', '--path', tree])).status, 0);
    const flags = (id: number, origin: string): string | undefined =>
      /MAKEFLAGS=(-j\d+)/.exec(
        fs.readFileSync(path.join(home, 'logs', String(id), `${origin.replace('/', '_')}.log`), 'utf8'),
      )?.[1];

    // One builder, adaptive budget (the default): a lone build gets every core; `parallel: false` gets one.
    // Without -t the failing test is not run.
    const r1 = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'tj', 't/pp', 't/qq', 't/xx', '-J', '1', '--json']);
    assert.equal(r1.status, 0, r1.stdout + r1.stderr);
    const lines = r1.stdout.split('\n').filter((l) => l !== '');
    const events = lines.map((l) => JSON.parse(l) as BulkEvent);
    const id1 = latestBulk(home);
    assert.deepEqual(
      events.map((e) => e.bulk).filter((b) => b !== id1),
      [],
    );
    assert.equal(events[0]?.type, 'bulk-start');
    assert.equal(events.at(-1)?.type, 'bulk-done');
    assert.deepEqual(
      events.filter((e) => e.type === 'port-done').map((e) => e.type === 'port-done' && e.ok),
      [true, true, true],
    );
    const starts = events.filter((e): e is Extract<BulkEvent, { type: 'port-start' }> => e.type === 'port-start');
    assert.deepEqual(starts.map((e) => e.origin).sort(), ['t/pp', 't/qq', 't/xx']);
    assert.deepEqual(
      starts.map((e) => e.estimate),
      ['default', 'default', 'default'],
      'never built, no distfiles',
    );
    assert.equal(starts.find((e) => e.origin === 't/pp')?.jobs, cores);
    assert.equal(starts.find((e) => e.origin === 't/qq')?.jobs, 1);
    assert.equal(flags(id1, 't/pp'), `-j${cores}`);
    assert.equal(flags(id1, 't/qq'), '-j1');
    assert.equal(rows(home, id1).get('t/xx')?.result, 'built');
    // The journal holds the same events.
    const journal = fs
      .readFileSync(path.join(home, 'logs', String(id1), 'events.jsonl'), 'utf8')
      .trim()
      .split('\n');
    assert.deepEqual(
      journal.map((l) => (JSON.parse(l) as BulkEvent).type),
      events.map((e) => e.type),
    );

    // job_budget: fixed gives -j1; -t runs the test, whose failure fails the port in phase test.
    fs.writeFileSync(path.join(home, 'kiln.yaml'), 'job_budget: fixed\n');
    const r2 = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'tj', 't/pp', 't/xx', '-J', '1', '-C', '-t']);
    assert.equal(r2.status, 1, r2.stdout + r2.stderr);
    const id2 = latestBulk(home);
    const b2 = rows(home, id2);
    assert.equal(flags(id2, 't/pp'), '-j1');
    assert.equal(b2.get('t/pp')?.result, 'built', r2.stdout);
    assert.equal(b2.get('t/xx')?.result, 'failed');
    assert.equal(b2.get('t/xx')?.phase, 'test');
    assert.equal(b2.get('t/xx')?.failure, 'test');
    assert.match(fs.readFileSync(path.join(home, 'logs', String(id2), 't_xx.log'), 'utf8'), /the test runs/);
    assert.match(r2.stdout, /failed {2}t\/xx \(phase test\)/);
    // The second bulk expected the first one's wall time (learned), not the default.
    const learnedS = (rows(home, id1).get('t/pp')?.wallMs ?? NaN) / 1000;
    const start2 = fs
      .readFileSync(path.join(home, 'logs', String(id2), 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as BulkEvent)
      .find((e) => e.type === 'port-start' && e.origin === 't/pp');
    assert.ok(start2?.type === 'port-start');
    assert.equal(start2.estimate, 'learned');
    assert.equal(start2.expectedS, learnedS);
    const phases = b2.get('t/pp')?.phases as { name: string; wallMs: number; cpuMs?: number }[];
    assert.ok(
      phases.some((p) => p.name === 'build' && p.wallMs >= 0),
      JSON.stringify(phases),
    );
    // CPU time per phase where the sandbox's cgroup measured it; the phases' sum is the build's total.
    const cpu = b2.get('t/pp')?.cpuMs ?? 0;
    if (cpu > 0)
      assert.equal(
        phases.reduce((a, p) => a + (p.cpuMs ?? 0), 0),
        cpu,
        JSON.stringify(phases),
      );
  } finally {
    done();
  }
});
