import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Procedure } from '../util/phases.js';
import { FakeRunner, LimitError } from './index.js';

test('FakeRunner scripts outcomes, records calls and tracks open sandboxes', async () => {
  const runner = new FakeRunner((label, cmd) => (label === 'bad/port' && cmd.user !== 'root' ? { limit: 'wall' } : { lines: ['ok'] }));
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
  assert.deepEqual(runner.calls.map((c) => [c.label, c.argv[0], c.user, c.network]),
    [['good/port', 'make', 'build', false], ['bad/port', 'apt-get', 'root', true], ['bad/port', 'make', 'build', false]]);
});
