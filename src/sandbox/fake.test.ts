import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Procedure } from '../util/phases.js';
import { FakeRunner, LimitError, scaleLimits, checkSandboxHost } from './index.js';

test('FakeRunner scripts outcomes, records calls and tracks open sandboxes', async () => {
  const runner = new FakeRunner((label, cmd) =>
    label === 'bad/port' && cmd.user !== 'root' ? { limit: 'wall' } : { lines: ['ok'] },
  );
  const proc = new Procedure(() => undefined);
  const good = await runner.open({ jail: { name: 'j', path: '/nonexistent' }, label: 'good/port', proc });
  const lines: string[] = [];
  const r = await good.run({ argv: ['make'], onLine: (l) => lines.push(l) });
  assert.equal(r.status, 0);
  assert.deepEqual(lines, ['ok']);
  const bad = await runner.open({ jail: { name: 'j', path: '/nonexistent' }, label: 'bad/port' });
  await bad.run({ argv: ['apt-get', 'install'], user: 'root', network: true });
  await assert.rejects(bad.run({ argv: ['make'] }), (e: unknown) => e instanceof LimitError && e.limit === 'wall');
  assert.deepEqual(runner.openSandboxes.sort(), [bad.id, good.id].sort());
  await bad.teardown();
  await proc.close();
  assert.deepEqual(runner.openSandboxes, []);
  assert.deepEqual(
    runner.calls.map((c) => [c.label, c.argv[0], c.user, c.network]),
    [
      ['good/port', 'make', 'build', false],
      ['bad/port', 'apt-get', 'root', true],
      ['bad/port', 'make', 'build', false],
    ],
  );
});

test('scaleLimits grows time limits only', () => {
  assert.deepEqual(scaleLimits({ wallMs: 1000, noOutputMs: 100, cpuSeconds: 10, memoryBytes: 5, nproc: 7 }, 3), {
    wallMs: 3000,
    noOutputMs: 300,
    cpuSeconds: 30,
    memoryBytes: 5,
    nproc: 7,
  });
});

test('checkSandboxHost reports every requirement with a fix', async () => {
  const checks = await checkSandboxHost();
  const names = checks.map((c) => c.name);
  for (const n of ['root', 'bwrap', 'mmdebstrap', 'overlayfs', 'cgroup']) assert.ok(names.includes(n), n);
  assert.ok(checks.find((c) => c.name === 'bwrap')!.ok, 'bwrap is installed on a kiln host');
  for (const c of checks) if (!c.ok) assert.ok(c.fix, `${c.name} has a fix`);
});
