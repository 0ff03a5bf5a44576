/** `kiln clean layers` and a jail's layers dropped: layers a live sandbox stacks are spared, dead aliases go. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../store/index.js';
import { processStart } from '../sandbox/sandbox.js';
import { dropJailLayers, findLayer, layersRoot, listLayers } from '../layers/index.js';
import { cleanLayers } from './layers.js';

/** A finished layer folder as saveLayer leaves it (one file in its root), with an alias `req`. */
function fakeLayer(home: string, jail: string, req: string): string {
  const key = crypto.createHash('sha256').update(`${jail}/${req}`).digest('hex');
  const dir = path.join(layersRoot(home), jail, key);
  fs.mkdirSync(path.join(dir, 'root/usr/include'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'root/usr/include/x.h'), '/* x */\n');
  const meta = { format: 1, key, jail, jailIdentity: 'i', parent: null, request: [req], packages: [`${req}:amd64=1`] };
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ ...meta, bytes: 8, files: 3, created: '' }));
  fs.mkdirSync(path.join(layersRoot(home), jail, 'alias'), { recursive: true });
  fs.writeFileSync(path.join(layersRoot(home), jail, 'alias', req), `${key}\n`);
  return dir;
}

test('kiln clean layers removes every layer but one a live sandbox stacks, and the aliases left dangling', (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-clean-layers-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const store = openStore(home);
  t.after(() => store.close());
  const busy = fakeLayer(home, 'j', 'a');
  const idle = fakeLayer(home, 'j', 'b');
  assert.equal(findLayer(layersRoot(home), 'j', 'b')?.dir, idle);
  const sb = path.join(home, 'sandboxes', 'x-1');
  fs.mkdirSync(sb, { recursive: true });
  fs.writeFileSync(
    path.join(sb, 'owner.json'),
    JSON.stringify({
      pid: process.pid,
      pidStart: processStart(process.pid),
      jail: 'j',
      lower: '/',
      layers: [`${busy}/root`],
    }),
  );
  const dry = cleanLayers({ home, store, dryRun: true });
  assert.deepEqual(
    dry.removed.map((x) => x.path),
    [path.relative(home, idle)],
  );
  assert.ok(fs.existsSync(idle), 'a dry run removes nothing');
  const r = cleanLayers({ home, store });
  assert.deepEqual(
    r.spared.map((s) => s.path),
    [path.relative(home, busy)],
  );
  assert.equal(fs.existsSync(idle), false);
  assert.equal(findLayer(layersRoot(home), 'j', 'b'), undefined);
  assert.deepEqual(fs.readdirSync(path.join(layersRoot(home), 'j', 'alias')), ['a'], 'the dead alias went');
  assert.equal(listLayers(layersRoot(home)).length, 1);
});

test("a changed jail's layers are dropped whole; other jails' stay", async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-drop-layers-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  fakeLayer(home, 'old', 'a');
  const other = fakeLayer(home, 'other', 'a');
  assert.equal(await dropJailLayers(home, 'old'), 8);
  assert.equal(fs.existsSync(path.join(layersRoot(home), 'old')), false);
  assert.ok(fs.existsSync(other));
  assert.equal(await dropJailLayers(home, '../other'), 0, 'a name that is a path is refused');
  assert.ok(fs.existsSync(other));
});
