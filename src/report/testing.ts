/**
 * Test helper: a kiln home holding one finished bulk written through the real store, with its event journal and
 * port logs, as a real bulk leaves them (no build needed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../store/index.js';
import type { BulkEvent } from '../bulk/index.js';
import { processStart } from '../bulk/index.js';

/** A bulk event without its bulk id (distributed over the union). */
export type EventInput = BulkEvent extends infer E ? (E extends BulkEvent ? Omit<E, 'bulk'> : never) : never;

/** What {@link fixtureHome} made. */
export interface Fixture {
  readonly dir: string;
  readonly home: string;
  /** The finished bulk (built misc/a, failed misc/fail, skipped misc/after, kept misc/old). */
  readonly done: number;
  /** A bulk that looks running (owned by this process), with misc/slow running on builder 1. */
  readonly running: number;
  /** Appends events to a bulk's journal. */
  append(bulk: number, events: readonly EventInput[]): void;
}

const counts = (o: Partial<Record<string, number>>) => ({
  built: 0,
  failed: 0,
  skipped: 0,
  kept: 0,
  deleted: 0,
  remaining: 0,
  ...o,
});

/** Makes the fixture under a fresh temporary folder; remove `dir` at the end. */
export function fixtureHome(): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-report-'));
  const home = path.join(dir, 'home');
  const s = openStore(home);
  const t0 = Date.parse('2025-01-02T03:04:05.000Z');
  const append = (bulk: number, events: readonly EventInput[]): void => {
    const f = path.join(home, 'logs', String(bulk), 'events.jsonl');
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.appendFileSync(f, events.map((e) => `${JSON.stringify({ ...e, bulk })}\n`).join(''));
  };
  try {
    const b = s.bulks.startBulk({ jail: 'bookworm', tree: 'main', pid: 1, pidStart: 'x', builders: 2, request: {} });
    const log = (origin: string, text: string): string => {
      const rel = `${b.id}/${origin.replace('/', '_')}.log`;
      fs.mkdirSync(path.join(home, 'logs', String(b.id)), { recursive: true });
      fs.writeFileSync(path.join(home, 'logs', rel), text);
      return rel;
    };
    s.bulks.setBuild(b.id, 'misc/a', {
      result: 'built',
      version: '1.0-k1',
      identity: 'a'.repeat(64),
      reasons: ['new'],
      builder: '1',
      started: '2025-01-02T03:04:06.000Z',
      finished: '2025-01-02T03:04:16.000Z',
      wallMs: 10_000,
      log: log('misc/a', '[t] === phase build started\nok\n'),
    });
    s.bulks.setBuild(b.id, 'misc/fail', {
      result: 'failed',
      phase: 'build',
      failure: 'build',
      reason: 'exit status 2',
      builder: '2',
      started: '2025-01-02T03:04:06.000Z',
      finished: '2025-01-02T03:04:09.000Z',
      wallMs: 3000,
      log: log(
        'misc/fail',
        '[t] === phase build started\n[t] compiling <b>bold</b>\n[t] ! main.c:3: error: expected ;\n[t] FAILED in phase build: exit status 2\n',
      ),
    });
    s.bulks.setBuild(b.id, 'misc/after', {
      result: 'skipped',
      reason: 'depends on misc/fail, which failed in phase build',
    });
    s.bulks.setBuild(b.id, 'misc/old', { result: 'kept', reasons: ['unchanged'] });
    append(b.id, [
      {
        type: 'bulk-start',
        t: t0,
        jail: 'bookworm',
        tree: 'main',
        builders: 2,
        toBuild: 3,
        counts: counts({ kept: 1, remaining: 3 }),
        resumed: false,
      },
      { type: 'port-start', t: t0 + 1000, origin: 'misc/a', builder: 1, jobs: 1, expectedS: 12 },
      { type: 'port-start', t: t0 + 1000, origin: 'misc/fail', builder: 2, jobs: 1, expectedS: 60 },
      { type: 'port-phase', t: t0 + 1500, origin: 'misc/fail', builder: 2, phase: 'build' },
      {
        type: 'port-done',
        t: t0 + 4000,
        origin: 'misc/fail',
        builder: 2,
        ok: false,
        wallS: 3,
        phase: 'build',
        failure: 'build',
        reason: 'exit status 2',
      },
      { type: 'port-skipped', t: t0 + 4000, origin: 'misc/after', because: 'misc/fail' },
      { type: 'port-done', t: t0 + 11000, origin: 'misc/a', builder: 1, ok: true, wallS: 10 },
      {
        type: 'progress',
        t: t0 + 11000,
        counts: counts({ built: 1, failed: 1, skipped: 1, kept: 1 }),
        etaS: 0,
        elapsedS: 11,
      },
      { type: 'publish', t: t0 + 12000, generation: 3, packages: 2 },
      {
        type: 'bulk-done',
        t: t0 + 12000,
        status: 'failed',
        counts: counts({ built: 1, failed: 1, skipped: 1, kept: 1 }),
        wallS: 12,
        offenders: [{ origin: 'misc/fail', blocked: 1 }],
        generation: 3,
      },
    ] as EventInput[]);
    s.bulks.finishBulk(b.id, 'failed', counts({ built: 1, failed: 1, skipped: 1, kept: 1 }), 3);

    const r = s.bulks.startBulk({
      jail: 'bookworm',
      tree: 'other',
      pid: process.pid,
      pidStart: processStart(process.pid) ?? '',
      builders: 1,
      request: {},
    });
    for (const o of ['misc/slow', 'misc/q1', 'misc/q2']) s.bulks.setBuild(r.id, o, { result: 'queued' });
    fs.mkdirSync(path.join(home, 'logs', String(r.id)), { recursive: true });
    fs.writeFileSync(path.join(home, 'logs', String(r.id), 'misc_slow.log'), '[t] === phase build started\n');
    s.bulks.setBuild(r.id, 'misc/slow', {
      result: 'running',
      builder: '1',
      started: new Date().toISOString(),
      log: `${r.id}/misc_slow.log`,
    });
    append(r.id, [
      {
        type: 'bulk-start',
        t: Date.now(),
        jail: 'bookworm',
        tree: 'other',
        builders: 1,
        toBuild: 3,
        counts: counts({ remaining: 3 }),
        resumed: false,
      },
      { type: 'port-start', t: Date.now(), origin: 'misc/slow', builder: 1, jobs: 1, expectedS: 30 },
    ] as EventInput[]);
    return { dir, home, done: b.id, running: r.id, append };
  } finally {
    s.close();
  }
}
