/** `kiln doctor` on this host: real checks, a missing binfmt_misc told with the command to fix it, the CLI's exit code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatDoctor, runDoctor, type DoctorReport } from './index.js';
import { kiln } from '../bulk/testing.js';

test('a missing binfmt_misc is reported with the command that mounts it; required failures fail the report', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-doctor-'));
  try {
    const r = await runDoctor({ binfmtDir: dir, hostArch: 'amd64' });
    const names = r.checks.map((c) => c.name);
    for (const n of [
      'bwrap',
      'overlayfs',
      'user namespaces',
      'mmdebstrap',
      'cgroups',
      'redis-server',
      'chromium',
      'gpg',
      'debugfs',
      'qemu-system-x86_64',
      'qemu-system-aarch64 + UEFI',
    ]) {
      assert.ok(names.includes(n), `checks ${n}`);
    }
    const arm = r.checks.find((c) => c.name.startsWith('arm64'))!;
    assert.equal(arm.ok, false);
    assert.equal(arm.required, false);
    assert.match(arm.fix ?? '', /mount -t binfmt_misc binfmt_misc /);
    assert.equal(
      r.ok,
      r.checks.every((c) => c.ok || !c.required),
    );
    const broken: DoctorReport = {
      checks: [...r.checks, { name: 'thing', required: true, ok: false, detail: 'gone', fix: 'apt-get install thing' }],
      ok: false,
    };
    const text = formatDoctor(broken);
    assert.match(text, /^MISSING\s+thing\s+gone$/m);
    assert.match(text, /fix: apt-get install thing/);
    assert.match(text, /required check\(s\) failed$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln doctor --json exits 0 exactly when every required check passes', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-doctor-home-'));
  try {
    const r = await kiln(home, ['doctor', '--json']);
    const report = JSON.parse(r.stdout) as DoctorReport;
    assert.equal(r.status, report.ok ? 0 : 1);
    for (const c of report.checks) if (!c.ok) assert.ok(c.fix, `${c.name} says how to fix it`);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
