/**
 * Test helpers for real bulks: a fresh kiln home with the shared test jail registered as `bookworm` (no second
 * mmdebstrap), a shared distfile cache, and the CLI run as a child process (so a test can kill it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunOptions, type RunResult } from '../util/exec.js';
import { testJail, testCacheDir, type TestJailSpec } from '../jail/index.js';
import { openStore } from '../store/index.js';

/** The repository's root folder. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Which test jail {@link testHome} registers, and under what name. */
export interface TestHomeOptions {
  /** The jail (default: the amd64 bookworm test jail). */
  readonly jail?: TestJailSpec;
  /** Its name in the home's store (default `bookworm`). */
  readonly name?: string;
}

/**
 * A fresh home whose store knows a test jail (by default the amd64 one, as `bookworm`), with the shared distfile
 * cache linked in. Remove it with `fs.rmSync(home, {recursive: true})`.
 */
export async function testHome(prefix = 'kiln-bulk-test-', o: TestHomeOptions = {}): Promise<string> {
  const j = await testJail(o.jail);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const s = openStore(home);
  try {
    s.putJail({
      name: o.name ?? 'bookworm',
      release: j.release,
      arch: j.arch,
      mirror: j.mirror,
      path: j.path,
      identity: j.identity,
      manifestHash: j.manifestHash,
    });
  } finally {
    s.close();
  }
  const cache = path.join(testCacheDir(), 'distfiles');
  fs.mkdirSync(cache, { recursive: true });
  fs.symlinkSync(cache, path.join(home, 'distfiles'));
  return home;
}

/** Runs `kiln ARGS --home HOME` from source as a child process; never throws on a non-zero exit. */
export function kiln(home: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/bin.ts'), ...args, '--home', home], {
    cwd: REPO_ROOT,
    timeoutMs: 30 * 60_000,
    allowFailure: true,
    ...opts,
  });
}

/** What {@link scriptPort} writes. */
export interface ScriptPortOptions {
  /** The build script (default: installs one text file). */
  readonly script?: string;
  readonly build?: readonly string[];
  readonly run?: readonly string[];
  readonly version?: string;
  /** `build.test`: run with `kiln bulk -t`. */
  readonly test?: string;
  /** `build.parallel` (written only when given). */
  readonly parallel?: boolean;
}

/** Writes a tiny `script` port (no distfiles) into `tree`. */
export function scriptPort(tree: string, origin: string, o: ScriptPortOptions = {}): void {
  const dir = path.join(tree, origin);
  fs.mkdirSync(dir, { recursive: true });
  const name = origin.split('/')[1]!;
  const script =
    o.script ?? `mkdir -p "$DESTDIR/usr/share/${name}"\necho ${name} > "$DESTDIR/usr/share/${name}/${name}.txt"`;
  fs.writeFileSync(
    path.join(dir, 'port.yaml'),
    [
      `version: "${o.version ?? '1.0'}"`,
      `summary: test port ${name}`,
      'arch: all',
      'depends:',
      `  build: [${(o.build ?? []).join(', ')}]`,
      `  run: [${(o.run ?? []).join(', ')}]`,
      'build:',
      '  system: script',
      ...(o.parallel !== undefined ? [`  parallel: ${o.parallel}`] : []),
      ...(o.test !== undefined ? ['  test: |', ...o.test.split('\n').map((l) => `    ${l}`)] : []),
      '  script: |',
      ...script.split('\n').map((l) => `    ${l}`),
      '',
    ].join('\n'),
  );
}
