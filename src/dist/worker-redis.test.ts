/** A worker pointed at an unreachable Redis says so at once and keeps retrying with a growing, visible backoff. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { redisBackoffS, waitForRedis } from './worker-redis.js';

test('the backoff grows to 30 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map(redisBackoffS), [1, 2, 4, 8, 16, 30, 30, 30]);
});

test('an unreachable Redis is reported on the first try, then retried with backoff until stopped', async () => {
  // A port nothing listens on: take one from the kernel and close it.
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const lines: string[] = [];
  const ac = new AbortController();
  const done = waitForRedis(`redis://127.0.0.1:${port}`, {
    signal: ac.signal,
    log: (l) => {
      lines.push(l);
      if (lines.length === 2) ac.abort();
    },
  });
  assert.equal(await done, false, 'stopped, never reached');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0]!,
    new RegExp(`^redis at 127\\.0\\.0\\.1:${port} is unreachable \\(.*ECONNREFUSED.*\\); retry 1 in 1 s$`),
  );
  assert.match(lines[1]!, /; retry 2 in 2 s$/);
});
