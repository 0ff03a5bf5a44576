/**
 * `--bootable` raw images booted for real, with software emulation only (TCG: no KVM needed):
 * - amd64 in qemu-system-x86_64: SeaBIOS, SYSLINUX from the GPT disk, the image's own kernel and initrd, systemd;
 * - arm64 in qemu-system-aarch64 (virt machine, UEFI firmware from qemu-efi-aarch64): GRUB's EFI loader from the
 *   ESP, the arm64 kernel, systemd. Opt-in with KILN_TEST_ARM64_BOOT=1 (its cached base takes about an hour to
 *   make under qemu-user, beyond the CI budget), and skipped, saying what to install, without qemu-system-arm and
 *   qemu-efi-aarch64.
 * In both, a unit from the overlay runs the kiln-built program and prints its line on the serial console; qemu is
 * killed (by its pid) once the line is read, or at the timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { have, run } from '../util/exec.js';
import { kiln, testHome } from '../bulk/testing.js';
import { checkArch } from '../jail/index.js';
import { AARCH64_FIRMWARE } from '../doctor/index.js';
import { KilnError } from '../util/errors.js';
import { BOOTABLE_ARCHES, buildImage } from './index.js';
import { HELLO_SAYS, testImageBaseCache, writeHelloTree } from './testing.js';

const MARK = 'KILN-BOOTED:';

/** Writes an overlay with a systemd unit that prints MARK and the program's line on the console. */
function bootOverlay(dir: string): string {
  const overlay = path.join(dir, 'overlay');
  const units = path.join(overlay, 'etc/systemd/system');
  fs.mkdirSync(path.join(units, 'multi-user.target.wants'), { recursive: true });
  fs.writeFileSync(
    path.join(units, 'kiln-hello.service'),
    [
      '[Unit]',
      'Description=kiln image boot test',
      '',
      '[Service]',
      'Type=oneshot',
      `ExecStart=/bin/sh -c 'echo "${MARK} $(/usr/bin/kiln-hi)"'`,
      'StandardOutput=journal+console',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n'),
  );
  fs.symlinkSync('../kiln-hello.service', path.join(units, 'multi-user.target.wants/kiln-hello.service'));
  return overlay;
}

/** Boots with `qemu` and `args` until the serial console shows MARK and HELLO_SAYS; returns the console text. */
async function bootUntilMark(qemu: string, args: string[], timeoutMs: number): Promise<string> {
  const stop = new AbortController();
  let serial = '';
  let pid = 0;
  const booted = await run(qemu, args, {
    timeoutMs,
    signal: stop.signal,
    allowFailure: true,
    onSpawn: (p) => {
      pid = p;
    },
    onOutput: (chunk) => {
      serial += chunk.toString('latin1');
      if (serial.includes(`${MARK} ${HELLO_SAYS}`)) stop.abort();
    },
  }).catch((e: unknown) => e);
  assert.ok(pid > 0, `${qemu} started`);
  assert.ok(
    serial.split('\n').some((l) => l.includes(MARK)),
    `the image printed its line at boot; the console said:\n${serial.slice(-3000)}\n${booted instanceof Error ? booted.message : ''}`,
  );
  assert.throws(() => process.kill(pid, 0), 'qemu is gone');
  return serial;
}

/** Shares the cached base roots with the test home. */
function linkBaseCache(home: string): void {
  fs.mkdirSync(path.join(home, 'cache'), { recursive: true });
  fs.mkdirSync(testImageBaseCache(), { recursive: true });
  fs.symlinkSync(testImageBaseCache(), path.join(home, 'cache', 'image-bases'));
}

test('a --bootable raw image boots in qemu and prints a line on the serial console', {
  timeout: 30 * 60_000,
}, async () => {
  const home = await testHome('kiln-boot-test-');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-boot-'));
  try {
    const { tree, list } = writeHelloTree(dir);
    const b = await kiln(home, ['bulk', '-j', 'bookworm', '-p', tree, '-f', list]);
    assert.equal(b.status, 0, b.stdout + b.stderr);
    const overlay = bootOverlay(dir);
    linkBaseCache(home);
    const img = path.join(dir, 'disk.img');
    const r = await kiln(
      home,
      [
        'image',
        '-j',
        'bookworm',
        '-p',
        tree,
        '-f',
        list,
        '-t',
        'raw',
        '--bootable',
        '--size',
        '1500M',
        '-o',
        img,
        '--overlay',
        overlay,
        '--hostname',
        'kilnboot',
      ],
      { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } },
    );
    // (SOURCE_DATE_EPOCH as image.test.ts gives it: the reproducible disk boots, and both share one cached base.)
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const table = (await run('sfdisk', ['-d', img])).stdout;
    assert.match(table, /^label: gpt$/m);
    assert.match(table, /name="kiln-boot", attrs="LegacyBIOSBootable"/);

    const serial = await bootUntilMark(
      'qemu-system-x86_64',
      [
        '-m',
        '1024',
        '-smp',
        '1',
        '-display',
        'none',
        '-serial',
        'stdio',
        '-monitor',
        'none',
        '-no-reboot',
        '-drive',
        `file=${img},format=raw,if=ide,snapshot=on`,
      ],
      10 * 60_000,
    );
    assert.match(serial, new RegExp(`${MARK} ${HELLO_SAYS} x86_64`));
    assert.match(serial, /SYSLINUX/, 'SYSLINUX booted the disk');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});

/** Why the arm64 boot test cannot run here, or undefined when it can. */
async function arm64BootMissing(): Promise<string | undefined> {
  const missing: string[] = [];
  if (!(await have('qemu-system-aarch64'))) missing.push('qemu-system-arm');
  if (!fs.existsSync(AARCH64_FIRMWARE)) missing.push('qemu-efi-aarch64');
  if (process.env.KILN_TEST_ARM64_BOOT !== '1') {
    return 'opt-in: KILN_TEST_ARM64_BOOT=1 (its base, an arm64 kernel whose initramfs is made twice under qemu-user, takes about an hour on first use)';
  }
  if (missing.length > 0)
    return `needs apt-get install --no-install-recommends ${missing.join(' ')} (qemu-system-aarch64 and its UEFI firmware)`;
  try {
    await checkArch('arm64');
  } catch (e) {
    return `needs arm64 emulation: ${e instanceof Error ? e.message : String(e)} (scripts/setup-image-deps.sh)`;
  }
  return undefined;
}

const arm64Skip = await arm64BootMissing();

test('an arm64 --bootable raw image boots in qemu-system-aarch64 (UEFI, GRUB) and prints a line on the serial console', {
  timeout: 90 * 60_000,
  skip: arm64Skip ?? false,
}, async () => {
  const home = await testHome('kiln-boot-arm64-', { jail: { arch: 'arm64' }, name: 'arm64' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-boot-arm64-tree-'));
  try {
    const { tree, list } = writeHelloTree(dir);
    const b = await kiln(home, ['bulk', '-j', 'arm64', '-p', tree, '-f', list]);
    assert.equal(b.status, 0, b.stdout + b.stderr);
    const overlay = bootOverlay(dir);
    linkBaseCache(home);
    const img = path.join(dir, 'disk.img');
    const r = await kiln(
      home,
      [
        'image',
        '-j',
        'arm64',
        '-p',
        tree,
        '-f',
        list,
        '-t',
        'raw',
        '--bootable',
        '--size',
        '1500M',
        '-o',
        img,
        '--overlay',
        overlay,
        '--hostname',
        'kilnarm',
      ],
      { timeoutMs: 60 * 60_000 },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const table = (await run('sfdisk', ['-d', img])).stdout;
    assert.match(
      table,
      /type=C12A7328-F81F-11D2-BA4B-00A0C91EC93B, uuid=[^,]+, name="kiln-boot"$/m,
      'an EFI system partition',
    );
    assert.match(table, /type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE/, 'an arm64 root partition');

    const serial = await bootUntilMark(
      'qemu-system-aarch64',
      [
        '-M',
        'virt',
        '-cpu',
        'cortex-a57',
        '-m',
        '1024',
        '-smp',
        '1',
        '-bios',
        AARCH64_FIRMWARE,
        '-display',
        'none',
        '-serial',
        'stdio',
        '-monitor',
        'none',
        '-no-reboot',
        '-drive',
        `file=${img},format=raw,if=virtio,snapshot=on`,
      ],
      30 * 60_000,
    );
    assert.match(serial, new RegExp(`${MARK} ${HELLO_SAYS} aarch64`));
    assert.match(serial, /kiln: GRUB loads the kernel/, 'GRUB booted the disk');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test('--bootable is refused for an architecture without a boot path, with a clear error, before anything is made', async () => {
  const out = path.join(os.tmpdir(), `never-${process.pid}.img`);
  for (const arch of ['riscv64', ...(BOOTABLE_ARCHES.includes('arm64') ? [] : ['arm64'])]) {
    await assert.rejects(
      buildImage(
        {
          home: os.tmpdir(),
          jail: { name: 'r', release: 'bookworm', arch, mirror: 'http://m/debian' },
          tree: 't',
          packages: [],
          type: 'raw',
          bootable: true,
          output: out,
        },
        () => undefined,
      ),
      (e: unknown) =>
        e instanceof KilnError &&
        e.code === 'KILN_E_USAGE' &&
        e.message.includes(`only (jail r is ${arch})`) &&
        /make a tar or squashfs root/.test(e.hint ?? '') &&
        (arch !== 'arm64' || /arm64 UEFI boot with GRUB is not done yet/.test(e.hint ?? '')),
    );
  }
  assert.ok(!fs.existsSync(out));
});
