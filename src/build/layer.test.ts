/**
 * Dependency layers, for real, in the shared test jail: a port's system dependencies are installed once into a
 * layer; a second build reuses it and gives the same `.deb` bytes as a build that installs them itself; a hostile
 * build cannot change the layer for the next one; a failed install leaves no layer; eviction spares a layer a live
 * sandbox stacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPort, type Port } from '../recipe/index.js';
import { testJail } from '../jail/index.js';
import { processStart } from '../sandbox/sandbox.js';
import { evictLayers, layersRoot, listLayers } from '../layers/index.js';
import type { BuildResult } from './build.js';
import { buildInTestJail } from './testing.js';

/** A port that compiles against libyaml's header (a package the test jail lacks); `extra` runs after. */
function writePort(tree: string, name: string, system: string, extra = ''): Port {
  const dir = path.join(tree, 'devel', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'port.yaml'),
    [
      'version: "1.0"',
      'summary: a port with a system dependency',
      'depends:',
      `  system: [${system}]`,
      'build:',
      '  system: script',
      '  script: |',
      "    printf '#include <yaml.h>\\nint main(void) { return sizeof(yaml_parser_t) == 0; }\\n' > y.c",
      '    cc -O2 y.c -o y',
      ...(extra ? [`    ${extra}`] : []),
      '    install -D -m 755 y "$DESTDIR/usr/bin/y"',
      '',
    ].join('\n'),
  );
  const loaded = loadPort(dir, `devel/${name}`, 'tree');
  assert.ok(loaded.port, JSON.stringify(loaded.problems));
  return loaded.port;
}

function sha(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

test('dependency layers: made once, reused, same bytes as a plain install, untouchable by a build', {
  timeout: 30 * 60_000,
}, async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-layer-test-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const tree = path.join(home, 'tree');
  const jail = await testJail();
  const identity = crypto.createHash('sha256').update(jail.path).digest('hex');
  const spec = { root: layersRoot(home), jailIdentity: identity, maxBytes: 4 << 30 };
  let n = 0;
  const build = async (p: Port, layers: boolean): Promise<{ res: BuildResult; log: string }> => {
    n += 1;
    return buildInTestJail({
      home,
      jail,
      port: p,
      n,
      identity: 'd'.repeat(64),
      ...(layers ? { extra: { layers: spec } } : {}),
    });
  };
  const port = writePort(tree, 'yamlc', 'libyaml-dev');

  const first = await build(port, true);
  assert.ok(first.res.ok, `${first.res.phase}: ${first.res.reason}\n${first.log.slice(-3000)}`);
  assert.match(first.log, /dependency layer [0-9a-f]{16}: not made yet/);
  t.diagnostic(
    first.log
      .split('\n')
      .filter((l) => / made in /.test(l))
      .join(' '),
  );
  assert.deepEqual(
    first.res.timings.map((p) => p.name).slice(0, 4),
    ['port-files', 'fetch', 'layer', 'sandbox'],
    'the layer comes before the sandbox',
  );
  const made = listLayers(spec.root);
  assert.equal(made.length, 1);
  assert.ok(
    made[0]!.meta.packages.some((p) => p.startsWith('libyaml-dev:')),
    `the layer records the exact packages: ${made[0]!.meta.packages.join(' ')}`,
  );
  const header = path.join(made[0]!.dir, 'root/usr/include/yaml.h');
  assert.equal(fs.statSync(header).uid, 0, "the layer's files are owned as the jail's are");
  const headerSha = sha(header);

  const second = await build(port, true);
  assert.ok(second.res.ok, second.log.slice(-3000));
  assert.match(second.log, /dependency layer [0-9a-f]{16} \(\d+ packages, \d+ MiB\): reused/);
  assert.doesNotMatch(second.log, /Unpacking libyaml-dev/, 'nothing is installed again');
  const plain = await build(port, false);
  assert.ok(plain.res.ok, plain.log.slice(-3000));
  assert.match(plain.log, /Unpacking libyaml-dev/);
  const bytes = (r: BuildResult): Buffer => fs.readFileSync(r.debs[0]!);
  assert.ok(bytes(first.res).equals(bytes(second.res)), 'a reused layer gives the same .deb bytes');
  assert.ok(bytes(first.res).equals(bytes(plain.res)), 'a layer gives the same .deb bytes as a plain install');

  // Hostile: a build over the layer writes where it can (its home, /var/tmp) and tries the layer's files.
  const hostile = writePort(
    tree,
    'yamlevil',
    'libyaml-dev',
    'echo planted > /var/tmp/planted; echo evil > /usr/include/yaml.h 2>/dev/null || true; ls -la /usr/include/yaml.h',
  );
  const evil = await build(hostile, true);
  assert.ok(evil.res.ok, evil.log.slice(-3000));
  assert.match(evil.log, /: reused/, 'the same request uses the same layer');
  assert.equal(sha(header), headerSha, "a build cannot change the layer's files");
  assert.equal(fs.existsSync(path.join(made[0]!.dir, 'root/var/tmp/planted')), false, 'nor add to it');
  assert.equal(listLayers(spec.root).length, 1);

  // A failed install leaves no layer and no alias.
  const broken = writePort(tree, 'yamlbroken', 'kiln-no-such-package-xyz');
  const failed = await build(broken, true);
  assert.equal(failed.res.ok, false);
  assert.equal(failed.res.phase, 'layer');
  assert.equal(failed.res.failure, 'depends');
  assert.equal(listLayers(spec.root).length, 1, 'no layer from a failed install');
  assert.equal(fs.readdirSync(path.join(spec.root, jail.name, 'alias')).length, 1);
  assert.deepEqual(
    fs.readdirSync(path.join(spec.root, jail.name)).filter((e) => e.startsWith('.tmp')),
    [],
    'nothing half-made is left',
  );

  // Eviction spares a layer a live sandbox stacks, then takes it when none does.
  const owner = path.join(home, 'sandboxes', 'fake-0001');
  fs.mkdirSync(owner, { recursive: true });
  fs.writeFileSync(
    path.join(owner, 'owner.json'),
    JSON.stringify({
      pid: process.pid,
      pidStart: processStart(process.pid),
      jail: jail.name,
      lower: jail.path,
      created: new Date().toISOString(),
      layers: [path.join(made[0]!.dir, 'root')],
    }),
  );
  assert.deepEqual(await evictLayers(home, 0), [], 'a layer in use is never evicted');
  fs.rmSync(owner, { recursive: true });
  assert.deepEqual(await evictLayers(home, 0), [made[0]!.dir]);
  assert.equal(listLayers(spec.root).length, 0);
});
