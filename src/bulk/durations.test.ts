import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPort } from '../recipe/index.js';
import {
  DEFAULT_EXPECTED_S,
  DEFAULT_PUBLISH_S,
  cachedDistfileBytes,
  lastPublishSeconds,
  estimateFromSize,
  expectedDuration,
} from './durations.js';
import { PhaseMeter } from './meter.js';
import { etaScale } from './eta.js';
import type { SandboxCommand, SandboxRunner } from '../sandbox/index.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function port(dir: string, origin: string, sources: string[]) {
  const d = path.join(dir, 'tree', origin);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(
    path.join(d, 'port.yaml'),
    [
      'version: "1.0"',
      'summary: a port',
      ...(sources.length > 0 ? ['sources:'] : []),
      ...sources.map((sha, i) => `  - url: https://example.org/f${i}.tar.gz\n    sha256: ${sha}`),
      'build:',
      '  system: make',
      '',
    ].join('\n'),
  );
  const l = loadPort(d, origin, 'test');
  assert.deepEqual(l.problems, []);
  return l.port!;
}

test("expected durations: learned, then the package's, then from the cached distfiles' size, then the default", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-durations-'));
  try {
    const distfiles = path.join(dir, 'distfiles');
    for (const [sha, bytes] of [
      [SHA_A, 3 * 1024 * 1024],
      [SHA_B, 1024 * 1024],
    ] as const) {
      fs.mkdirSync(path.join(distfiles, 'sha256', sha.slice(0, 2)), { recursive: true });
      fs.writeFileSync(path.join(distfiles, 'sha256', sha.slice(0, 2), sha), Buffer.alloc(bytes));
    }
    const two = port(dir, 'a/two', [SHA_A, SHA_B]);
    const missing = port(dir, 'a/missing', [SHA_A, 'c'.repeat(64)]);
    const none = port(dir, 'a/none', []);
    assert.equal(cachedDistfileBytes(distfiles, two), 4 * 1024 * 1024);
    assert.equal(cachedDistfileBytes(distfiles, missing), undefined, 'one distfile not cached: size unknown');
    assert.equal(cachedDistfileBytes(distfiles, none), undefined);
    assert.ok(estimateFromSize(4 * 1024 * 1024) > estimateFromSize(1024 * 1024), 'bigger sources, longer build');

    const inp = {
      learned: new Map([['a/two', 12.5]]),
      previousS: new Map([
        ['a/two', 99],
        ['a/missing', 33],
      ]),
      distfilesDir: distfiles,
    };
    assert.deepEqual(expectedDuration(two, inp), { seconds: 12.5, source: 'learned' });
    assert.deepEqual(expectedDuration(missing, inp), { seconds: 33, source: 'previous' });
    assert.deepEqual(expectedDuration(two, { ...inp, learned: new Map(), previousS: new Map() }), {
      seconds: estimateFromSize(4 * 1024 * 1024),
      source: 'distfile-size',
    });
    assert.deepEqual(expectedDuration(missing, { ...inp, previousS: new Map() }), {
      seconds: DEFAULT_EXPECTED_S,
      source: 'default',
    });
    assert.deepEqual(expectedDuration(none, inp), { seconds: DEFAULT_EXPECTED_S, source: 'default' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the phase meter adds each command's CPU time to the phase current when it started", async () => {
  const cpu = [30, 0, 12, 8];
  const runner: SandboxRunner = {
    open: async () => ({
      id: 'x',
      hostPath: (p) => p,
      teardown: async () => undefined,
      run: async (_c: SandboxCommand) => ({ status: 0, stdout: '', stderr: '', wallMs: 1, cpuMs: cpu.shift() ?? 0 }),
    }),
  };
  const m = new PhaseMeter();
  const s = await m.wrap(runner).open({ jail: { name: 'j', path: '/' } });
  m.phase('system-depends');
  await s.run({ argv: ['true'] });
  m.phase('configure');
  await s.run({ argv: ['true'] });
  m.phase('build');
  await s.run({ argv: ['true'] });
  await s.run({ argv: ['true'] });
  assert.equal(m.cpuMs('system-depends'), 30);
  assert.equal(m.cpuMs('configure'), undefined, 'nothing measured');
  assert.equal(m.cpuMs('build'), 20);
  assert.equal(m.anyMeasured, true);
});

test("the ETA's pace follows how much slower or faster than expected this bulk's builds ran, within bounds", () => {
  assert.equal(etaScale(0, 0, 0), 1, 'nothing finished: trust the expectations');
  assert.equal(etaScale(20, 20, 2), 1);
  const slow = etaScale(40, 20, 2);
  assert.ok(slow > 1 && slow < 2, `pulled towards 1 by the prior: ${slow}`);
  assert.ok(etaScale(400, 20, 20) > etaScale(40, 20, 2) || etaScale(400, 20, 20) === 3);
  assert.equal(etaScale(10_000, 10, 10), 3);
  assert.equal(etaScale(1, 1000, 10), 0.5);
});

test("the ETA adds the end of the pair's last published bulk: from its last build to bulk-done", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-publish-s-'));
  try {
    const journal = (id: number, events: object[]): void => {
      fs.mkdirSync(path.join(home, 'logs', String(id)), { recursive: true });
      fs.writeFileSync(
        path.join(home, 'logs', String(id), 'events.jsonl'),
        events.map((e) => `${JSON.stringify(e)}\n`).join(''),
      );
    };
    journal(3, [
      { type: 'bulk-start', t: 1000 },
      { type: 'port-done', t: 5000 },
      { type: 'publish', t: 9500 },
      { type: 'bulk-done', t: 9600 },
    ]);
    journal(4, [
      { type: 'bulk-start', t: 20000 },
      { type: 'port-done', t: 21000 },
    ]);
    assert.equal(lastPublishSeconds(home, [4, 3]), 4.6, 'the newest bulk that published: last build to its end');
    assert.equal(lastPublishSeconds(home, [4, 9]), DEFAULT_PUBLISH_S);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
