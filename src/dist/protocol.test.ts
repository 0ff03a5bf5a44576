/** The job format: a port's Debian source package (`Port.debian`) travels in the job and reaches the worker's port. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebianPortSource, Port, Recipe } from '../recipe/index.js';
import { jobKey, jobPort, portFromJob, type DistJob } from './protocol.js';
import { jobSources } from './master-job.js';

const debian: DebianPortSource = {
  package: 'hello',
  version: '2.10-3',
  directory: 'pool/main/h/hello',
  files: [
    { name: 'hello_2.10-3.dsc', sha256: 'a'.repeat(64), size: 1234 },
    { name: 'hello_2.10.orig.tar.gz', sha256: 'b'.repeat(64), size: 725946 },
  ],
  binary: ['hello'],
  buildDepends: 'debhelper-compat (= 13)',
  buildDependsArch: '',
  buildDependsIndep: '',
};
const base: Port = {
  origin: 'misc/hello',
  dir: '/master/tree/misc/hello',
  path: '/master/tree/misc/hello/port.yaml',
  layer: 'deb',
  pkgname: 'hello',
  recipe: { name: 'hello', version: '2.10' } as unknown as Recipe,
  contentHash: 'c'.repeat(64),
};

test('a port built from a Debian source package carries port.debian through the job to the worker', () => {
  const jp = jobPort({ ...base, debian }, { files: [{ path: 'port.yaml', mode: 0o644, data: '' }] });
  const wire = JSON.parse(JSON.stringify(jp)) as DistJob['port']; // BullMQ stores job data as JSON
  const got = portFromJob(wire, '/worker/home/dist/ports/x/tree');
  assert.deepEqual(got.debian, debian);
  assert.equal(got.dir, '/worker/home/dist/ports/x/tree');
  assert.equal(got.path, '/worker/home/dist/ports/x/tree/port.yaml');
  assert.deepEqual({ ...got, dir: base.dir, path: base.path }, { ...base, debian });
});

test('a port without a Debian source package has no debian field on either side', () => {
  const jp = jobPort(base, { tarball: { sha256: 'd'.repeat(64), name: 'port.tar', size: 10 } });
  assert.equal('debian' in jp, false);
  assert.equal('debian' in portFromJob(JSON.parse(JSON.stringify(jp)) as DistJob['port'], '/w'), false);
  assert.match(jobKey('j', 'misc/hello', 'i'), /^k[0-9a-f]{40}$/);
});

test("the master ships a Debian port's source package files with the job (from the mirror's pool, by sha256)", () => {
  const recipe = {
    name: 'hello',
    version: '2.10',
    sources: [{ url: 'https://example.invalid/extra.tar.gz', sha256: 'e'.repeat(64) }],
  } as unknown as Recipe;
  const specs = jobSources({ ...base, recipe, debian }, 'http://mirror.invalid/debian/');
  assert.deepEqual(
    specs.map((x) => [x.url, x.sha256, x.filename]),
    [
      ['https://example.invalid/extra.tar.gz', 'e'.repeat(64), undefined],
      ['http://mirror.invalid/debian/pool/main/h/hello/hello_2.10-3.dsc', 'a'.repeat(64), 'hello_2.10-3.dsc'],
      [
        'http://mirror.invalid/debian/pool/main/h/hello/hello_2.10.orig.tar.gz',
        'b'.repeat(64),
        'hello_2.10.orig.tar.gz',
      ],
    ],
  );
  assert.deepEqual(
    jobSources({ ...base, recipe }, 'http://mirror.invalid/debian'),
    recipe.sources,
    "other ports: the recipe's distfiles only",
  );
  assert.deepEqual(
    jobSources({ ...base, recipe, debian }, undefined),
    recipe.sources,
    'no mirror known: the worker fetches them itself',
  );
});
