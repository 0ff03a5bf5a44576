/**
 * testJail(): the shared real jail of the test suite. Made once per spec (release, arch, include, mirror) under
 * `KILN_TEST_CACHE` (default `/var/cache/kiln-test`) and reused by every later test file. Creation runs in a
 * child process under `flock(1)`, so test files starting at once share one creation, and a creator that dies
 * releases the lock (the kernel drops it) and leaves only a temporary folder the next creator removes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { hostMirror } from '../debian/index.js';
import { openStore, type JailRecord } from '../store/index.js';
import { sha256 } from './manifest.js';

/** The jail a test wants. */
export interface TestJailSpec {
  /** A codename or suite; default: the mirror's `stable` (the jail records its codename). */
  readonly release?: string;
  readonly arch?: string;
  readonly include?: readonly string[];
}

/** Name of the test jail inside its cache home. */
const NAME = 'test';

/** The cache folder of test jails. */
export function testCacheDir(): string {
  return process.env.KILN_TEST_CACHE ?? '/var/cache/kiln-test';
}

/** The kiln home that holds the test jail of `spec` (one home per spec). */
export function testJailHome(spec: TestJailSpec = {}): string {
  const full = {
    release: spec.release ?? 'stable',
    arch: spec.arch ?? 'amd64',
    include: [...(spec.include ?? [])].sort(),
    mirror: hostMirror(),
  };
  return path.join(testCacheDir(), `jail-${sha256(JSON.stringify(full)).slice(0, 16)}`);
}

/** The jail, if made and complete. */
function ready(home: string): JailRecord | undefined {
  if (!fs.existsSync(path.join(home, 'kiln.db'))) return undefined;
  const store = openStore(home);
  try {
    const j = store.getJail(NAME);
    return j && fs.existsSync(path.join(j.path, 'usr/bin')) ? j : undefined;
  } finally {
    store.close();
  }
}

/**
 * The shared test jail for `spec`: made on first use (about 30 s, needs Debian's archive), then returned at once.
 * Waits up to `timeoutMs` (default 20 min) for another test process that is making it.
 */
export async function testJail(spec: TestJailSpec = {}, timeoutMs = 20 * 60_000): Promise<JailRecord> {
  const home = testJailHome(spec);
  const have = ready(home);
  if (have) return have;
  fs.mkdirSync(home, { recursive: true });
  const worker = fileURLToPath(new URL('./testing-worker.ts', import.meta.url));
  const repo = path.resolve(path.dirname(worker), '..', '..');
  // Two attempts: if the process making it dies (killed, out of memory), the next one takes the lock and retries.
  let output = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const r = await run(
        'flock',
        [
          '-x',
          '-w',
          String(Math.ceil(timeoutMs / 1000)),
          path.join(home, 'create.lock'),
          process.execPath,
          '--import',
          'tsx',
          worker,
          home,
          NAME,
          JSON.stringify(spec),
        ],
        { cwd: repo, timeoutMs: timeoutMs + 60_000, allowFailure: true },
      );
      output = `status ${r.status}\n${r.stdout.slice(-3000)}${r.stderr.slice(-3000)}`;
    } catch (e) {
      output = e instanceof Error ? e.message : String(e);
    }
    const made = ready(home);
    if (made) return made;
  }
  throw new KilnError('KILN_E_JAIL_CREATE', `the test jail in ${home} could not be made`, {
    hint: `the Debian archive must be reachable; the last attempt said:\n${output}`,
    exitCode: 1,
  });
}
