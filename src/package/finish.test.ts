/** The finishing script run for real (sh on the host, over a temporary DESTDIR): man pages and their links. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { finishScript } from './finish.js';

test('man pages are gzipped -9n, upstream .gz pages lose name and time, links follow to the .gz', async () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-finish-'));
  try {
    const d = path.join(top, 'dest');
    const man = path.join(d, 'usr/share/man');
    fs.mkdirSync(path.join(man, 'man1'), { recursive: true });
    fs.mkdirSync(path.join(man, 'man3'));
    fs.writeFileSync(path.join(man, 'man3/md5.3'), '.TH MD5 3\n');
    fs.symlinkSync('md5.3', path.join(man, 'man3/MD5Init.3'));
    fs.symlinkSync('/usr/share/man/man3/md5.3', path.join(man, 'man3/MD5Final.3'));
    fs.symlinkSync('../man3/md5.3', path.join(man, 'man1/odd\tname 1.1'));
    fs.symlinkSync('missing.3', path.join(man, 'man3/dangling.3'));
    // An upstream page gzipped with its name and a time in the header.
    fs.writeFileSync(path.join(top, 'up.1'), 'upstream\n');
    await run('gzip', ['-9', path.join(top, 'up.1')]);
    fs.copyFileSync(path.join(top, 'up.1.gz'), path.join(man, 'man1/up.1.gz'));
    fs.writeFileSync(path.join(top, 'finish.sh'), finishScript({ destdir: d, dbgdir: path.join(top, 'dbg') }));
    await run('sh', ['-e', path.join(top, 'finish.sh')], { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });

    const link = (p: string): string => fs.readlinkSync(path.join(man, p));
    assert.deepEqual(fs.readdirSync(path.join(man, 'man3')).sort(), [
      'MD5Final.3.gz',
      'MD5Init.3.gz',
      'dangling.3',
      'md5.3.gz',
    ]);
    assert.equal(link('man3/MD5Init.3.gz'), 'md5.3.gz');
    assert.equal(link('man3/MD5Final.3.gz'), '/usr/share/man/man3/md5.3.gz');
    assert.equal(link('man3/dangling.3'), 'missing.3', 'a link to no page is left alone');
    assert.equal(link('man1/odd\tname 1.1.gz'), '../man3/md5.3.gz');
    assert.equal(fs.existsSync(path.join(man, 'man1/odd\tname 1.1')), false);
    const up = fs.readFileSync(path.join(man, 'man1/up.1.gz'));
    assert.equal(up[3]! & 0x08, 0, 'no file name in the gzip header');
    assert.equal(up.readUInt32LE(4), 0, 'no time in the gzip header');
    assert.equal((await run('gzip', ['-dc', path.join(man, 'man1/up.1.gz')])).stdout, 'upstream\n');
    const page = fs.readFileSync(path.join(man, 'man3/md5.3.gz'));
    assert.equal(page[3]! & 0x08, 0);
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});
