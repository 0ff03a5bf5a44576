// bench/scan helper: sums a `node --cpu-prof` profile's self time by kiln module (dist/MODULE/…) so a
// slow scan can be routed to its owner. Usage: node bench/lib/scan-profile-summary.mjs PROFILE_DIR
import fs from 'node:fs';
import path from 'node:path';
const dir = process.argv[2];
const totals = new Map();
for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
  const p = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const thread = /\.(\d+)\.\d+\.cpuprofile$/.exec(f)?.[1] ?? '?';
  p.samples.forEach((id, i) => {
    const frame = byId.get(id).callFrame;
    const url = frame.url;
    let key;
    const m = /\/dist\/([^/]+)\//.exec(url);
    if (m) key = `kiln ${m[1]}/`;
    else if (url.includes('/node_modules/')) key = `npm ${url.split('/node_modules/')[1].split('/')[0]}`;
    else if (frame.functionName === '(garbage collector)') key = 'garbage collector';
    else if (frame.functionName === '(idle)' || frame.functionName === '(program)') key = frame.functionName;
    else key = 'node internals + fs/crypto natives';
    totals.set(key, (totals.get(key) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  void thread;
}
const all = [...totals.values()].reduce((a, b) => a + b, 0);
process.stdout.write(`cpu profile self time by module (all threads, ${all.toFixed(0)} ms sampled):\n`);
for (const [k, ms] of [...totals].sort((a, b) => b[1] - a[1])) {
  process.stdout.write(
    `  ${k.padEnd(40)} ${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / all).toFixed(0).padStart(3)}%\n`,
  );
}
