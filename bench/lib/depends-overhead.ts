/**
 * The cost of the split dependency install (issue 14): `apt-get install hello` as one step with the host network
 * and the shared cache bound read-write, as builds did, against build/install.ts's download step (archive proxy,
 * own cache layer, promotion) then install step (no network), in a user namespace. The cache holds hello already,
 * so both measure apt and the sandbox, not the mirror. Usage: node --import tsx bench/lib/depends-overhead.ts [N]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testJail } from '../../src/jail/index.js';
import { installDepends, installPackages } from '../../src/build/index.js';
import { createSandbox, settleRemovals, sharedAptCache, type SandboxCommand } from '../../src/sandbox/index.js';

const runs = Number(process.argv[2] ?? 3);
const jail = await testJail();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-depends-'));
const limits = { wallMs: 600_000, noOutputMs: 300_000 };
const env = { DEBIAN_FRONTEND: 'noninteractive', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
const cache = sharedAptCache(home);
const old = async (): Promise<void> => {
  fs.mkdirSync(path.join(cache, 'partial'), { recursive: true }); // the old scheme wrote the shared cache
  const sb = await createSandbox({ home, jail, label: 'old', userns: false });
  try {
    await sb.run({
      argv: ['apt-get', 'install', '-y', '-q', '-o', 'APT::Sandbox::User=root', 'hello'],
      user: 'root',
      network: true,
      env,
      binds: [{ source: cache, dest: '/var/cache/apt/archives' }],
      limits,
    });
  } finally {
    await sb.teardown();
  }
};
const split = async (): Promise<void> => {
  const sb = await createSandbox({ home, jail, label: 'new' });
  try {
    await installDepends({
      home,
      run: (cmd: SandboxCommand) => sb.run({ ...cmd, limits }),
      ...installPackages(['hello']),
    });
  } finally {
    await sb.teardown();
  }
};
const t = { old: [] as number[], split: [] as number[] };
try {
  await split(); // warm: hello into the shared cache, verified
  for (let i = 0; i < runs; i++) {
    let a = performance.now();
    await old();
    t.old.push(performance.now() - a);
    a = performance.now();
    await split();
    t.split.push(performance.now() - a);
  }
} finally {
  await settleRemovals();
  fs.rmSync(home, { recursive: true, force: true });
}
const avg = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
console.log(
  `dependency install of hello (cached), ${runs} runs each on jail ${jail.release}/${jail.arch} (${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)})`,
);
console.log(
  `one step, host network, shared cache read-write, host root: ${avg(t.old).toFixed(0)} ms (${t.old.map((x) => x.toFixed(0)).join(', ')})`,
);
console.log(
  `download (proxy) + install (no network), user namespace:    ${avg(t.split).toFixed(0)} ms (${t.split.map((x) => x.toFixed(0)).join(', ')})`,
);
console.log(`added per build with dependencies: ${(avg(t.split) - avg(t.old)).toFixed(0)} ms (goal: under 1000 ms)`);
