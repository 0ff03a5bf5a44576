import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError, formatProblem } from '../util/errors.js';
import { ConfigSchema, configPath, defaultConfig, describeConfig, loadConfig, parseConfig } from './index.js';

function withHome(fn: (home: string) => void): void {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-config-'));
  try {
    fn(home);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

test('a missing kiln.yaml means every default', () =>
  withHome((home) => {
    const cfg = loadConfig(home);
    assert.equal(cfg.builders, os.availableParallelism());
    assert.deepEqual(cfg.limits, { wall_s: 86400, cpu_s: 172800, no_output_s: 7200, memory_mb: 8192 });
    assert.deepEqual(cfg.mirrors, []);
    assert.equal(cfg.debian_mirror, undefined);
    assert.equal(cfg.keep_generations, 5);
    assert.equal(cfg.redis, undefined);
    assert.equal(cfg.serve.listen, '127.0.0.1:8080');
    assert.deepEqual(cfg.hooks, { post_bulk: { commands: [], urls: [] } });
    assert.equal(cfg.job_budget, 'adaptive');
    assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.limits), 'the config is read-only');
  }));

test('an empty or comment-only kiln.yaml means every default too', () =>
  withHome((home) => {
    fs.writeFileSync(configPath(home), '# nothing set\n');
    assert.deepEqual(loadConfig(home), defaultConfig());
  }));

test('settings given override defaults; the rest keep theirs', () =>
  withHome((home) => {
    fs.writeFileSync(
      configPath(home),
      [
        'builders: 6',
        'limits:',
        '  wall_s: 3600',
        'mirrors: [https://distfiles.example.org/kiln/]',
        'debian_mirror: http://archive.example.org/debian',
        'keep_generations: 2',
        'redis: redis://127.0.0.1:6379/0',
        'serve: {listen: "0.0.0.0:9000"}',
        'hooks:',
        '  post_bulk:',
        '    commands: [echo done]',
        '    urls: [https://hooks.example.org/kiln]',
        'job_budget: fixed',
        '',
      ].join('\n'),
    );
    const cfg = loadConfig(home);
    assert.equal(cfg.builders, 6);
    assert.deepEqual(cfg.limits, { wall_s: 3600, cpu_s: 172800, no_output_s: 7200, memory_mb: 8192 });
    assert.deepEqual(cfg.mirrors, ['https://distfiles.example.org/kiln/']);
    assert.equal(cfg.debian_mirror, 'http://archive.example.org/debian');
    assert.equal(cfg.keep_generations, 2);
    assert.equal(cfg.redis, 'redis://127.0.0.1:6379/0');
    assert.equal(cfg.serve.listen, '0.0.0.0:9000');
    assert.deepEqual(cfg.hooks.post_bulk, { commands: ['echo done'], urls: ['https://hooks.example.org/kiln'] });
    assert.equal(cfg.job_budget, 'fixed');
  }));

test('an invalid kiln.yaml is one InputError KILN_E_CONFIG with every problem located', () =>
  withHome((home) => {
    const file = configPath(home);
    fs.writeFileSync(
      file,
      [
        'builders: 0',
        'limits: {wall_s: "1h", memry_mb: 10}',
        'mirrors: ftp.example.org',
        'keep_generation: 3',
        'redis: http://x',
        'serve:',
        '  listen: localhost',
        'job_budget: greedy',
        '',
      ].join('\n'),
    );
    let err: unknown;
    try {
      loadConfig(home);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof InputError);
    assert.equal(err.code, 'KILN_E_CONFIG');
    assert.equal(err.exitCode, 2);
    assert.deepEqual(err.problems.map(formatProblem), [
      `${file}:1:11: builders: must be at least 1, not the number 0`,
      `${file}:2:18: limits.wall_s: must be a number, not the string "1h"`,
      `${file}:2:24: limits.memry_mb: unknown key "memry_mb" (did you mean "memory_mb"?)`,
      `${file}:3:10: mirrors: must be a list, not the string "ftp.example.org"`,
      `${file}:4:1: keep_generation: unknown key "keep_generation" (did you mean "keep_generations"?)`,
      `${file}:5:8: redis: must be a redis:// or rediss:// URL`,
      `${file}:7:11: serve.listen: must be HOST:PORT with a port up to 65535, such as 127.0.0.1:8080`,
      `${file}:8:13: job_budget: must be one of adaptive, fixed; not the string "greedy"`,
    ]);
  }));

test('YAML faults in kiln.yaml are located as well', () => {
  assert.throws(
    () => parseConfig('builders: 2\nbuilders: 3\n', 'k.yaml'),
    (e: unknown) =>
      e instanceof InputError &&
      formatProblem(e.problems[0]!) ===
        'k.yaml:2:1: builders: duplicate key: each key may appear only once in a mapping',
  );
  assert.throws(
    () => parseConfig('- a\n', 'k.yaml'),
    (e: unknown) => e instanceof InputError && e.problems[0]!.line === 1,
  );
  assert.throws(
    () => parseConfig(Buffer.from([0x62, 0x3a, 0x20, 0xff, 0x0a]), 'k.yaml'),
    (e: unknown) =>
      e instanceof InputError && formatProblem(e.problems[0]!) === 'k.yaml:1:4: -: the file is not valid UTF-8 text',
  );
});

test('describeConfig lists every leaf setting once, with value, default and a doc from the schema', () => {
  const cfg = parseConfig('keep_generations: 9\nlimits: {memory_mb: 100}\n', 'k.yaml');
  const rows = describeConfig(cfg);
  assert.deepEqual(
    rows.map((r) => r.key),
    [
      'builders',
      'limits.wall_s',
      'limits.cpu_s',
      'limits.no_output_s',
      'limits.memory_mb',
      'limits.disk_mb',
      'limits.files',
      'mirrors',
      'fetch.allow_hosts',
      'signing.key_dir',
      'debian_mirror',
      'maintainer',
      'debug_symbols',
      'keep_generations',
      'repo.valid_days',
      'ccache',
      'ccache_size',
      'cache.layers_mb',
      'redis',
      'serve.listen',
      'hooks.post_bulk.commands',
      'hooks.post_bulk.urls',
      'job_budget',
    ],
  );
  for (const r of rows) assert.ok(r.doc.length > 10, `${r.key} has no doc`);
  const keep = rows.find((r) => r.key === 'keep_generations')!;
  assert.deepEqual([keep.value, keep.default], [9, 5]);
  const mem = rows.find((r) => r.key === 'limits.memory_mb')!;
  assert.deepEqual([mem.value, mem.default], [100, 8192]);
  // Every top-level key of the schema appears (directly or through its leaves).
  for (const k of Object.keys(ConfigSchema.shape))
    assert.ok(
      rows.some((r) => r.key === k || r.key.startsWith(`${k}.`)),
      k,
    );
});
