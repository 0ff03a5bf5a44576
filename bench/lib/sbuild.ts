/** sbuild in unshare mode for the benches' ratios: installed, its chroot tarball made, root given a subuid range. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/util/exec.js';
import { hostMirror } from '../../src/debian/index.js';

/**
 * Makes `sbuild --chroot-mode=unshare -d RELEASE` work as root: installs sbuild, mmdebstrap and uidmap if needed,
 * makes `~/.cache/sbuild/RELEASE-ARCH.tar.zst`, and gives root a subordinate id range (100000, 65536 ids; far below
 * kiln's sandboxes, which use ids from 2^28) when /etc/subuid or /etc/subgid has none, as sbuild's unshare mode needs.
 */
export async function ensureSbuild(release: string, arch = 'amd64'): Promise<void> {
  if ((await run('sh', ['-c', 'command -v sbuild || true'])).stdout.trim() === '')
    await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'sbuild', 'mmdebstrap', 'uidmap'], {
      timeoutMs: 3600_000,
    });
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    const text = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
    if (!/^root:/m.test(text))
      fs.appendFileSync(f, `${text === '' || text.endsWith('\n') ? '' : '\n'}root:100000:65536\n`);
  }
  const tarball = path.join(os.homedir(), '.cache', 'sbuild', `${release}-${arch}.tar.zst`);
  if (!fs.existsSync(tarball)) {
    fs.mkdirSync(path.dirname(tarball), { recursive: true });
    await run('mmdebstrap', ['--variant=buildd', '--include=ca-certificates', release, tarball], {
      timeoutMs: 3600_000,
    });
  }
}

/**
 * One `sbuild -A` of SOURCE in unshare mode in a fresh folder: its `.dsc` and files are downloaded first from the
 * mirror (as `HOME/trees/TREE/sources.json` lists them; sbuild's chroot has no deb-src lines), not timed. Returns the
 * wall seconds of sbuild and its exit status.
 */
export async function sbuildOnce(
  home: string,
  tree: string,
  source: string,
  release: string,
): Promise<{ seconds: number; status: number | null }> {
  const sources = JSON.parse(fs.readFileSync(path.join(home, 'trees', tree, 'sources.json'), 'utf8')) as Record<
    string,
    [string, string]
  >;
  const entry = sources[source];
  if (!entry) throw new Error(`${source} is not in tree ${tree}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-sbuild-'));
  try {
    const mirror = hostMirror().replace(/\/+$/, '');
    let dsc = '';
    for (const line of entry[1].split('\n').filter(Boolean)) {
      const name = line.split(' ')[0]!;
      const res = await fetch(`${mirror}/${entry[0]}/${name}`);
      if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status} from the mirror`);
      fs.writeFileSync(path.join(work, name), Buffer.from(await res.arrayBuffer()));
      if (name.endsWith('.dsc')) dsc = name;
    }
    const t0 = Date.now();
    const r = await run(
      'sbuild',
      // As kiln builds by default: the nocheck profile and option (tests are kiln's `bulk -t`).
      [
        '--chroot-mode=unshare',
        '-d',
        release,
        '--no-run-lintian',
        '--no-run-autopkgtest',
        '--profiles=nocheck',
        '-A',
        dsc,
      ],
      {
        cwd: work,
        timeoutMs: 12 * 3600_000,
        allowFailure: true,
        env: { ...process.env, DEB_BUILD_OPTIONS: 'nocheck' },
      },
    );
    return { seconds: (Date.now() - t0) / 1000, status: r.status };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
