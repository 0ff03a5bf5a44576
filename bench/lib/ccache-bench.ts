/**
 * bench/ccache, the measuring part: a C port (default devel/libmd, autotools) built cold with `ccache: true` (empty
 * cache), then rebuilt after a one-line patch (the recipe changes, so kiln rebuilds it; the cache is warm), then the
 * same rebuild without ccache for reference. Prints each build's wall time and the ratio rebuild / cold.
 * Goal (issue 18): the rebuild with ccache takes at most 40 % of the cold build. With ccache, an autotools port's
 * configure is replayed from the port's own cache on the rebuild (src/build/configure-cache.ts). CCACHE_INCLUDE=1: a
 * jail with ccache. CCACHE_KEEP=1: the home (and its build logs) is kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/index.js';
import { loadPort } from '../../src/recipe/index.js';
import { REPO_ROOT, kiln, testHome } from '../../src/bulk/testing.js';
import { run } from '../../src/util/exec.js';

const origin = process.env.CCACHE_PORT ?? 'devel/libmd';
/** CCACHE_INCLUDE=1: the jail is made with ccache in it (`kiln jail create --include ccache`), not installed per build. */
const include = process.env.CCACHE_INCLUDE === '1';
/** CCACHE_KEEP=1: the temporary home (its build logs under logs/) is kept and named, not removed. */
const keep = process.env.CCACHE_KEEP === '1';
const home = await testHome('kiln-bench-ccache-', include ? { jail: { include: ['ccache'] } } : {});
const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
try {
  const tree = path.join(home, 'tree');
  fs.mkdirSync(path.dirname(path.join(tree, origin)), { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, 'examples/ports', origin), path.join(tree, origin), { recursive: true });
  /** One bulk of the port: its wall time and the time it spent making a dependency layer (ms). */
  const bulk = async (what: string): Promise<{ wall: number; layer: number; cpu: number }> => {
    const r = await kiln(home, ['bulk', '-j', 'bookworm', '-p', tree, origin, '-J', '1']);
    if (r.status !== 0) {
      console.error(r.stdout, r.stderr);
      process.exit(1);
    }
    const s = openStore(home);
    try {
      const b = s.bulks.builds(s.bulks.listBulks({ limit: 1 })[0]!.id).find((x) => x.origin === origin)!;
      const phases = (b.phases as { name: string; wallMs: number }[])
        .map((p) => `${p.name} ${(p.wallMs / 1000).toFixed(1)}`)
        .join(', ');
      console.log(
        `  ${what.padEnd(34)} ${((b.wallMs ?? 0) / 1000).toFixed(1).padStart(6)} s, cpu ${((b.cpuMs ?? 0) / 1000).toFixed(1)} s  (${phases}); load ${load()}`,
      );
      const layer = (b.phases as { name: string; wallMs: number }[]).find((p) => p.name === 'layer')?.wallMs ?? 0;
      return { wall: b.wallMs ?? 0, layer, cpu: b.cpuMs ?? 0 };
    } finally {
      s.close();
    }
  };
  /** Adds a one-line patch to the port: a comment line appended to the first .c file of its distfile. */
  const patch = async (n: number): Promise<void> => {
    const dist = path.basename(
      new URL(loadPort(path.join(tree, origin), origin, 'tree').port!.recipe.sources[0]!.url).pathname,
    );
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-ccache-src-'));
    try {
      await run('tar', ['-xf', path.join(home, 'distfiles', 'by-name', dist!), '-C', work]);
      const top = fs.readdirSync(work)[0]!;
      const c = (await run('sh', ['-c', `cd ${work}/${top} && find . -name '*.c' | sort | head -1`])).stdout
        .trim()
        .slice(2);
      const a = fs.readFileSync(path.join(work, top, c), 'utf8');
      fs.mkdirSync(path.join(work, 'bb', path.dirname(c)), { recursive: true });
      fs.writeFileSync(path.join(work, 'bb', c), `${a}/* kiln bench ${n} */\n`);
      fs.symlinkSync(path.join(work, top), path.join(work, 'a'));
      const diff = (await run('diff', ['-u', `a/${c}`, `bb/${c}`], { cwd: work, allowFailure: true })).stdout.replace(
        /^\+\+\+ bb\//m,
        '+++ b/',
      );
      fs.writeFileSync(path.join(tree, origin, 'oneline.patch'), diff);
      const recipe = path.join(tree, origin, 'port.yaml');
      const text = fs.readFileSync(recipe, 'utf8');
      if (!/^patches:/m.test(text)) fs.writeFileSync(recipe, `${text}patches: [oneline.patch]\n`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  };
  console.log(
    `== bench/ccache: ${origin}, -J 1, ${os.availableParallelism()} cores; distfiles cached; ccache ${include ? 'in the jail (--include ccache)' : 'installed per build (the jail lacks it)'}`,
  );
  fs.writeFileSync(path.join(home, 'kiln.yaml'), 'ccache: true\nccache_size: 1G\n');
  const cold = await bulk('cold build, ccache on (empty cache)');
  await patch(1);
  const warm = await bulk('one-line patch, ccache warm');
  fs.writeFileSync(path.join(home, 'kiln.yaml'), 'ccache: false\n');
  await patch(2);
  const plain = await bulk('one-line patch, no ccache');
  const pc = (a: number, b: number): string => `${((100 * a) / b).toFixed(0)} %`;
  console.log(
    `  rebuild with ccache / cold build: ${pc(warm.wall, cold.wall)} (goal <= 40 %); without ccache: ${pc(plain.wall, cold.wall)}`,
  );
  // The cold build also made the dependency layer, which later builds of any port with the same packages reuse.
  const base = cold.wall - cold.layer;
  console.log(
    `  the same against the cold build without its layer phase (${(base / 1000).toFixed(1)} s): ${pc(warm.wall, base)}; without ccache: ${pc(plain.wall, base)}`,
  );
  // CPU time (the build's processes, layer included) moves less with the machine's load than wall time.
  console.log(
    `  cpu time, rebuild with ccache / cold build: ${pc(warm.cpu, cold.cpu)}; without ccache: ${pc(plain.cpu, cold.cpu)}`,
  );
} finally {
  if (keep) console.log(`  home kept: ${home}`);
  else fs.rmSync(home, { recursive: true, force: true });
}
