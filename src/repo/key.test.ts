/**
 * The signing key (issue 14): where it lives (0700, optionally outside the home, migrated), that no served route
 * reaches it, rotation (both keys sign and are published for one generation of every repository, then the old one
 * is gone), and repository names that no two (jail, tree) pairs share.
 */
import { after as afterAll, before as beforeAll, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { resolveUnder } from '../server/index.js';
import { GpgSigner, keysDir, listRepos, parseRepoName, publish, repoDir, repoName, rotateKey } from './index.js';
import { makeDeb } from './testing.js';
import { main } from '../cli/main.js';

let tmp = '';
let deb = '';
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-key-'));
  deb = await makeDeb(tmp, { name: 'hello', version: '1.0-k1' });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const mode = (p: string): number => fs.statSync(p).mode & 0o777;

/** Fingerprints of the good signatures gpgv sees on `file` with `keyring` (what apt's gpgv method goes by). */
async function goodSigners(file: string, keyring: Buffer): Promise<string[]> {
  const kr = path.join(tmp, `kr-${Math.random().toString(36).slice(2)}.gpg`);
  fs.writeFileSync(kr, keyring);
  const r = await run('gpgv', ['--status-fd', '1', '--keyring', kr, file], { allowFailure: true });
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('[GNUPG:] VALIDSIG '))
    .map((l) => l.split(' ')[2]!);
}

async function exportKey(home: string, fpr: string): Promise<Buffer> {
  return (
    await run('gpg', ['--batch', '--export', fpr], {
      env: { ...process.env, GNUPGHOME: path.join(keysDir(home), 'gnupg') },
    })
  ).stdoutBytes;
}

test('the key folder is 0700; signing.key_dir moves it out of the home, migrating an existing key', async () => {
  const home = path.join(tmp, 'home-dir');
  const first = await GpgSigner.open(home);
  await first.close();
  assert.equal(mode(path.join(home, 'keys')), 0o700);
  assert.equal(mode(path.join(home, 'keys', 'gnupg')), 0o700);
  const outside = path.join(tmp, 'vault', 'kiln-keys');
  fs.writeFileSync(path.join(home, 'kiln.yaml'), `signing:\n  key_dir: ${outside}\n`);
  const moved = await GpgSigner.open(home);
  await moved.close();
  assert.equal(moved.fingerprint, first.fingerprint, 'the same key, migrated');
  assert.equal(keysDir(home), outside);
  assert.equal(mode(outside), 0o700);
  assert.ok(!fs.existsSync(path.join(home, 'keys')), 'no copy of the key is left in the home');
});

test('no served route reaches the key: .. is refused, a symlink from a generation to the key folder is not served', async () => {
  const home = path.join(tmp, 'home-serve');
  await publish({ home, jail: 'sid', tree: 'main', arch: 'amd64', debs: [{ path: deb }] });
  const current = path.join(repoDir(home, repoName('sid', 'main')), 'current');
  assert.equal(resolveUnder(current, '../../../keys/gnupg/pubring.kbx').ok, false);
  fs.symlinkSync(path.join(keysDir(home), 'gnupg'), path.join(fs.realpathSync(current), 'stolen'));
  const r = resolveUnder(current, 'stolen/pubring.kbx');
  assert.deepEqual(r, { ok: false, status: 404 });
  assert.equal(resolveUnder(current, 'kiln-archive-keyring.gpg').ok, true, 'the public keyring is served');
});

test('kiln repo key rotate: both keys sign and are published for one generation of each repository, then the old key is gone', async () => {
  const home = path.join(tmp, 'home-rotate');
  const pub = (tree: string) => publish({ home, jail: 'sid', tree, arch: 'amd64', debs: [{ path: deb }] });
  const inRelease = (tree: string): string =>
    path.join(repoDir(home, repoName('sid', tree)), 'current', 'dists', 'sid', 'InRelease');
  const keyring = (tree: string): Buffer =>
    fs.readFileSync(path.join(repoDir(home, repoName('sid', tree)), 'kiln-archive-keyring.gpg'));
  await pub('a');
  await pub('b');
  const old = await GpgSigner.open(home);
  await old.close();
  const oldKey = await exportKey(home, old.fingerprint);
  const rot = await rotateKey(home);
  assert.equal(rot.previous, old.fingerprint);
  await assert.rejects(
    rotateKey(home),
    (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_SIGN',
    'no second rotation mid-overlap',
  );
  const newKey = await exportKey(home, rot.current);

  await pub('a');
  assert.deepEqual(
    await goodSigners(inRelease('a'), oldKey),
    [old.fingerprint],
    'a client with the old keyring still verifies',
  );
  assert.deepEqual(await goodSigners(inRelease('a'), newKey), [rot.current]);
  assert.deepEqual(
    (await goodSigners(inRelease('a'), keyring('a'))).sort(),
    [old.fingerprint, rot.current].sort(),
    'both keys are published',
  );

  await pub('b'); // every repository has now published both keys once: the old key is retired
  await pub('a');
  assert.deepEqual(await goodSigners(inRelease('a'), keyring('a')), [rot.current]);
  assert.deepEqual(await goodSigners(inRelease('a'), oldKey), [], 'the old key signs no more');
  const left = await run('gpg', ['--batch', '--with-colons', '--list-secret-keys'], {
    env: { ...process.env, GNUPGHOME: path.join(keysDir(home), 'gnupg') },
  });
  assert.ok(!left.stdout.includes(old.fingerprint), 'the old secret key is deleted');
});

test('repository names cannot collide: jail bookworm + tree q-t and jail bookworm-q + tree t get two repositories', async () => {
  assert.notEqual(repoName('bookworm', 'q-t'), repoName('bookworm-q', 't'));
  const jails = ['a', 'a-', 'a-b', 'a--b', 'x.y', 'bookworm-q'];
  const trees = ['t', 'q-t', 't-', 'a-b-c', 'T_1'];
  const seen = new Map<string, string>();
  for (const j of jails) {
    for (const t of trees) {
      const n = repoName(j, t);
      assert.equal(seen.get(n), undefined, `${j}+${t} and ${seen.get(n)} share ${n}`);
      seen.set(n, `${j}+${t}`);
      assert.deepEqual(parseRepoName(n), { jail: j, tree: t });
    }
  }
  assert.equal(repoName('trixie', 'main'), 'trixie-main', 'a jail without a dash keeps its name');
  const home = path.join(tmp, 'home-names');
  await publish({ home, jail: 'bookworm', tree: 'q-t', arch: 'amd64', debs: [{ path: deb }] });
  await publish({ home, jail: 'bookworm-q', tree: 't', arch: 'amd64', debs: [{ path: deb }] });
  const names = listRepos(home)
    .map((r) => `${r.name}=${r.jail}/${r.tree}`)
    .sort();
  assert.deepEqual(names, ['bookworm--q-t=bookworm-q/t', 'bookworm-q-t=bookworm/q-t']);
});

test('an existing home migrates: a JAIL-TREE folder of a dashed jail is renamed; a folder owned by another pair is refused', async () => {
  const home = path.join(tmp, 'home-migrate');
  await publish({ home, jail: 'bookworm-q', tree: 't', arch: 'amd64', debs: [{ path: deb }] });
  // Make it look like a home from before: the folder named the old way.
  fs.renameSync(repoDir(home, 'bookworm--q-t'), repoDir(home, 'bookworm-q-t'));
  assert.deepEqual(
    listRepos(home).map((r) => r.name),
    ['bookworm--q-t'],
  );
  assert.ok(!fs.existsSync(repoDir(home, 'bookworm-q-t')));
  // A legacy folder that cannot move (its new name is taken) is never published into by the other pair.
  fs.cpSync(repoDir(home, 'bookworm--q-t'), repoDir(home, 'bookworm-q-t'), { recursive: true, verbatimSymlinks: true });
  await assert.rejects(
    publish({ home, jail: 'bookworm', tree: 'q-t', arch: 'amd64', debs: [{ path: deb }] }),
    (e: unknown) =>
      e instanceof KilnError && e.code === 'KILN_E_REPO' && /belongs to jail bookworm-q and tree t/.test(e.message),
  );
});

test('kiln repo key show and rotate [NAME] on the command line', async () => {
  const home = path.join(tmp, 'home-cli');
  await publish({ home, jail: 'sid', tree: 'x', arch: 'amd64', debs: [{ path: deb }] });
  const out: string[] = [];
  const err: string[] = [];
  const ctx = {
    home,
    out: (t: string) => {
      out.push(t);
    },
    err: (t: string) => {
      err.push(t);
    },
    isTTY: false,
    env: {},
    cwd: home,
  };
  assert.equal(await main(['repo', 'key', 'show', '--json'], ctx), 0);
  const before = JSON.parse(out.pop()!) as { fingerprint: string; previous: string | null; keyDir: string };
  assert.equal(before.previous, null);
  assert.equal(before.keyDir, path.join(home, 'keys'));
  assert.equal(await main(['repo', 'key', 'rotate', 'no-such-repo'], ctx), 2);
  assert.match(err.join('\n'), /KILN_E_REPO_NOT_FOUND/);
  assert.equal(await main(['repo', 'key', 'rotate', 'sid-x'], ctx), 0);
  assert.match(out.join('\n'), new RegExp(`old key ${before.fingerprint} keeps signing`));
  assert.equal(await main(['repo', 'key', 'show', '--json'], ctx), 0);
  const after = JSON.parse(out.pop()!) as { fingerprint: string; previous: string | null };
  assert.equal(after.previous, before.fingerprint);
  assert.notEqual(after.fingerprint, before.fingerprint);
});
