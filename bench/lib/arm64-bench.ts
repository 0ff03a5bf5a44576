/**
 * bench/arm64: the example tree (examples/ports, examples/pkglist.txt) built with `kiln bulk` twice from scratch:
 * in the native amd64 test jail and in the arm64 test jail under qemu-user. Prints both wall times, the ratio, and
 * the build time of each port. Options: --jobs N (default 2), --list FILE.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { testJail, testCacheDir, checkArch } from '../../src/jail/index.js';
import { openStore } from '../../src/store/index.js';
import { REPO_ROOT, kiln } from '../../src/bulk/testing.js';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '2' }, list: { type: 'string' } } });
const list = path.resolve(values.list ?? path.join(REPO_ROOT, 'examples/pkglist.txt'));

interface Run { arch: string; wallS: number; status: number | null; ports: { origin: string; result: string; seconds: number }[] }

async function bulk(arch: string): Promise<Run> {
  const j = await testJail({ arch });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-bench-${arch}-`));
  try {
    const s = openStore(home);
    s.putJail({ name: arch, release: j.release, arch: j.arch, mirror: j.mirror, path: j.path, identity: j.identity, manifestHash: j.manifestHash });
    s.close();
    const cache = path.join(testCacheDir(), 'distfiles');
    fs.mkdirSync(cache, { recursive: true });
    fs.symlinkSync(cache, path.join(home, 'distfiles'));
    const t0 = Date.now();
    const r = await kiln(home, ['bulk', '-j', arch, '-p', path.join(REPO_ROOT, 'examples/ports'), '-f', list, '-J', values.jobs!], { timeoutMs: 6 * 3600_000 });
    const wallS = (Date.now() - t0) / 1000;
    const st = openStore(home);
    try {
      const id = st.bulks.listBulks({ limit: 1 })[0]?.id;
      const rows = id === undefined ? [] : st.bulks.builds(id);
      return { arch, wallS, status: r.status, ports: rows.map((b) => ({ origin: b.origin, result: b.result ?? '?',
        seconds: b.started && b.finished ? (Date.parse(b.finished) - Date.parse(b.started)) / 1000 : 0 })) };
    } finally { st.close(); }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await checkArch('arm64');
console.log(`bench/arm64: kiln bulk of ${path.relative(REPO_ROOT, list)} from scratch, -J ${values.jobs}, on ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
const native = await bulk('amd64');
const emulated = await bulk('arm64');
for (const r of [native, emulated]) {
  console.log(`${r.arch.padEnd(6)} ${r.arch === 'arm64' ? '(qemu-user)' : '(native)   '} wall ${r.wallS.toFixed(1)} s, exit ${r.status}, ` +
    `${r.ports.filter((p) => p.result === 'built').length} built, ${r.ports.filter((p) => p.result === 'failed').length} failed`);
}
console.log(`emulated / native wall time: ${(emulated.wallS / native.wallS).toFixed(1)}x`);
console.log('port                          amd64 s   arm64 s   ratio');
for (const p of native.ports) {
  const e = emulated.ports.find((x) => x.origin === p.origin);
  console.log(`${p.origin.padEnd(28)} ${p.seconds.toFixed(1).padStart(8)} ${(e ? `${e.seconds.toFixed(1)}${e.result === 'built' ? '' : ` ${e.result}`}` : '-').padStart(9)} ${e && p.seconds > 0 ? (e.seconds / p.seconds).toFixed(1).padStart(7) : ''}`);
}
