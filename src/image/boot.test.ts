/**
 * A `--bootable` raw image booted in qemu-system-x86_64 (TCG: no KVM needed): SYSLINUX from the GPT disk, the
 * image's own kernel and initrd, systemd, and a unit from the overlay that runs the kiln-built program and prints
 * its line on the serial console. qemu is killed (by its process group) once the line is read, or at the timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { kiln, testHome } from '../bulk/testing.js';
import { HELLO_SAYS, testImageBaseCache, writeHelloTree } from './testing.js';

const MARK = 'KILN-BOOTED:';

test('a --bootable raw image boots in qemu and prints a line on the serial console', { timeout: 30 * 60_000 }, async () => {
  const home = await testHome('kiln-boot-test-');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-boot-'));
  try {
    const { tree, list } = writeHelloTree(dir);
    const b = await kiln(home, ['bulk', '-j', 'bookworm', '-p', tree, '-f', list]);
    assert.equal(b.status, 0, b.stdout + b.stderr);
    const units = path.join(dir, 'overlay/etc/systemd/system');
    fs.mkdirSync(path.join(units, 'multi-user.target.wants'), { recursive: true });
    fs.writeFileSync(path.join(units, 'kiln-hello.service'), [
      '[Unit]', 'Description=kiln image boot test', '', '[Service]', 'Type=oneshot',
      `ExecStart=/bin/sh -c 'echo "${MARK} $(/usr/bin/kiln-hi)"'`, 'StandardOutput=journal+console', '',
      '[Install]', 'WantedBy=multi-user.target', '',
    ].join('\n'));
    fs.symlinkSync('../kiln-hello.service', path.join(units, 'multi-user.target.wants/kiln-hello.service'));
    fs.mkdirSync(path.join(home, 'cache'), { recursive: true });
    fs.mkdirSync(testImageBaseCache(), { recursive: true });
    fs.symlinkSync(testImageBaseCache(), path.join(home, 'cache', 'image-bases'));
    const img = path.join(dir, 'disk.img');
    const r = await kiln(home, ['image', '-j', 'bookworm', '-p', tree, '-f', list, '-t', 'raw', '--bootable', '--size', '1500M',
      '-o', img, '--overlay', path.join(dir, 'overlay'), '--hostname', 'kilnboot']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const table = (await run('sfdisk', ['-d', img])).stdout;
    assert.match(table, /^label: gpt$/m);
    assert.match(table, /name="kiln-boot", attrs="LegacyBIOSBootable"/);

    // Boot it; stop as soon as the line is on the serial console.
    const stop = new AbortController();
    let serial = '';
    let pid = 0;
    const booted = await run('qemu-system-x86_64', ['-m', '1024', '-smp', '1', '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
      '-no-reboot', '-drive', `file=${img},format=raw,if=ide,snapshot=on`], {
      timeoutMs: 10 * 60_000, signal: stop.signal, allowFailure: true, onSpawn: (p) => { pid = p; },
      onOutput: (chunk) => { serial += chunk.toString('latin1'); if (serial.includes(`${MARK} ${HELLO_SAYS}`)) stop.abort(); },
    }).catch((e: unknown) => e);
    assert.ok(pid > 0, 'qemu started');
    const line = serial.split('\n').find((l) => l.includes(MARK));
    assert.ok(line, `the image printed its line at boot; the console said:\n${serial.slice(-3000)}\n${booted instanceof Error ? booted.message : ''}`);
    assert.match(line, new RegExp(`${MARK} ${HELLO_SAYS} x86_64`));
    assert.match(serial, /SYSLINUX/, 'SYSLINUX booted the disk');
    assert.throws(() => process.kill(pid, 0), 'qemu is gone');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
