/**
 * Signing the repository: the {@link Signer} interface, and {@link GpgSigner}, which keeps kiln's archive key in a
 * GNUPGHOME under the key folder (`HOME/keys`, or `kiln.yaml` `signing.key_dir`; mode 0700, never mounted into a
 * sandbox, never under a served root) and makes it on first use. `rotateKey` makes a new key; until every
 * repository has published one generation signed by both, both sign and both are in the published keyring.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { loadConfig } from '../config/index.js';

/** The public half of the archive key. */
export interface PublicKey {
  /** OpenPGP binary keyring (what apt's `signed-by=` takes as a `.gpg` file). */
  readonly binary: Buffer;
  /** ASCII-armored export (`.asc`). */
  readonly armored: string;
  readonly fingerprint: string;
}

/** What publishing needs from a signer. */
export interface Signer {
  /** `InRelease`: the data, clear-signed. */
  clearsign(data: Buffer): Promise<Buffer>;
  /** `Release.gpg`: an armored detached signature of the data. */
  detachSign(data: Buffer): Promise<Buffer>;
  publicKey(): Promise<PublicKey>;
  /** Releases what the signer holds (gpg's agent). Safe to call twice. */
  close(): Promise<void>;
  /** Told after repository `name` switched to a generation signed by this signer (ends a key rotation's overlap). */
  published?(name: string, allRepos: readonly string[]): Promise<void>;
}

/** Where the archive key lives: `kiln.yaml` `signing.key_dir`, else `HOME/keys` (its GNUPGHOME is `gnupg/` in it). */
export function keysDir(home: string): string {
  const configured = loadConfig(home).signing.key_dir;
  return configured ?? path.join(home, 'keys');
}

/** `KEYDIR/state.json`: which key signs, and the previous one while a rotation overlaps. */
interface KeyState {
  /** Fingerprint of the signing key. */
  current?: string;
  /** Fingerprint of the key being retired: still signs, still in the keyring. */
  previous?: string;
  /** Repositories that have published a generation carrying both keys since the rotation. */
  overlap?: string[];
}

function readState(dir: string): KeyState {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as KeyState;
  } catch {
    return {};
  }
}

function writeState(dir: string, st: KeyState): void {
  const tmp = path.join(dir, `state.json.tmp-${process.pid}`);
  fs.writeFileSync(tmp, `${JSON.stringify(st, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, 'state.json'));
}

/**
 * Makes the key folder private (0700, owned by kiln), moving a key store from `HOME/keys` when `signing.key_dir`
 * names another folder (an existing home migrates on first use). Returns the GNUPGHOME.
 */
export function prepareKeyDir(home: string): string {
  const dir = keysDir(home);
  const gnupgHome = path.join(dir, 'gnupg');
  try {
    const old = path.join(home, 'keys');
    if (
      path.resolve(dir) !== path.resolve(old) &&
      fs.existsSync(path.join(old, 'gnupg')) &&
      !fs.existsSync(gnupgHome)
    ) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.cpSync(old, dir, { recursive: true, preserveTimestamps: true });
      fs.rmSync(old, { recursive: true, force: true });
    }
    fs.mkdirSync(gnupgHome, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    fs.chmodSync(gnupgHome, 0o700);
  } catch (e) {
    throw new KilnError('KILN_E_SIGN', `cannot make the key folder ${gnupgHome}: ${(e as Error).message}`, {
      hint: 'kiln needs to write its key folder (run as root, or set signing.key_dir in kiln.yaml)',
      exitCode: 1,
      cause: e,
    });
  }
  return gnupgHome;
}

/** Key algorithms {@link GpgSigner.open} can make. */
export type KeyAlgorithm = 'ed25519' | 'rsa4096';

/** Signs with gpg from `KEYDIR/gnupg`, making an archive key (no passphrase) when there is none. */
export class GpgSigner implements Signer {
  private pub: PublicKey | undefined;
  private constructor(
    private readonly gnupgHome: string,
    readonly fingerprint: string,
    readonly previous?: string,
  ) {}

  /** Opens (and on first use creates) the key store and the archive key. */
  static async open(home: string, opts: { algorithm?: KeyAlgorithm; uid?: string } = {}): Promise<GpgSigner> {
    const gnupgHome = prepareKeyDir(home);
    const st = readState(path.dirname(gnupgHome));
    const keys = await secretKeys(gnupgHome);
    let fpr = st.current !== undefined && keys.includes(st.current) ? st.current : keys[0];
    if (!fpr) fpr = await makeKey(gnupgHome, opts);
    if (st.current !== fpr) writeState(path.dirname(gnupgHome), { ...st, current: fpr });
    const previous =
      st.previous !== undefined && st.previous !== fpr && keys.includes(st.previous) ? st.previous : undefined;
    return new GpgSigner(gnupgHome, fpr, previous);
  }

  /** The keys that sign: the current one, and the previous one while a rotation overlaps. */
  private signers(): string[] {
    return [this.fingerprint, ...(this.previous ? [this.previous] : [])].flatMap((f) => ['--local-user', f]);
  }

  async clearsign(data: Buffer): Promise<Buffer> {
    return (await gpg(this.gnupgHome, [...this.signers(), '--digest-algo', 'SHA512', '--clearsign'], data)).stdoutBytes;
  }

  async detachSign(data: Buffer): Promise<Buffer> {
    return (await gpg(this.gnupgHome, [...this.signers(), '--digest-algo', 'SHA512', '--armor', '--detach-sign'], data))
      .stdoutBytes;
  }

  async publicKey(): Promise<PublicKey> {
    if (!this.pub) {
      const fprs = [this.fingerprint, ...(this.previous ? [this.previous] : [])];
      const binary = (await gpg(this.gnupgHome, ['--export', ...fprs])).stdoutBytes;
      const armored = (await gpg(this.gnupgHome, ['--armor', '--export', ...fprs])).stdout;
      this.pub = { binary, armored, fingerprint: this.fingerprint };
    }
    return this.pub;
  }

  async published(name: string, allRepos: readonly string[]): Promise<void> {
    if (!this.previous) return;
    const dir = path.dirname(this.gnupgHome);
    const st = readState(dir);
    if (st.previous !== this.previous) return;
    const overlap = [...new Set([...(st.overlap ?? []), name])];
    if (!allRepos.every((r) => overlap.includes(r))) {
      writeState(dir, { ...st, overlap });
      return;
    }
    // Every repository has served both keys for a generation: the old key is retired and deleted.
    await gpg(this.gnupgHome, ['--delete-secret-and-public-key', this.previous]);
    writeState(dir, { current: this.fingerprint });
  }

  async close(): Promise<void> {
    await run('gpgconf', ['--kill', 'gpg-agent'], {
      env: { ...process.env, GNUPGHOME: this.gnupgHome },
      allowFailure: true,
    }).catch(() => undefined);
  }
}

async function gpg(gnupgHome: string, args: string[], input?: Buffer) {
  try {
    return await run('gpg', ['--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', ...args], {
      env: { ...process.env, GNUPGHOME: gnupgHome },
      input,
      timeoutMs: 120_000,
    });
  } catch (e) {
    throw new KilnError(
      'KILN_E_SIGN',
      `gpg ${args.filter((a) => a.startsWith('--')).join(' ')} failed: ${(e as Error).message}`,
      { hint: `is gnupg installed and ${gnupgHome} intact?`, exitCode: 1, cause: e },
    );
  }
}

/** Fingerprints of the primary secret keys, in keyring order. */
async function secretKeys(gnupgHome: string): Promise<string[]> {
  const r = await gpg(gnupgHome, ['--with-colons', '--list-secret-keys']);
  const out: string[] = [];
  let wantFpr = false;
  for (const l of r.stdout.split('\n')) {
    if (l.startsWith('sec:')) wantFpr = true;
    else if (l.startsWith('ssb:')) wantFpr = false;
    else if (wantFpr && l.startsWith('fpr:')) {
      out.push(l.split(':')[9]!);
      wantFpr = false;
    }
  }
  return out;
}

/** Makes a new signing key and returns its fingerprint. */
async function makeKey(gnupgHome: string, opts: { algorithm?: KeyAlgorithm; uid?: string }): Promise<string> {
  const before = new Set(await secretKeys(gnupgHome));
  const algo = opts.algorithm === 'rsa4096' ? 'rsa4096' : 'ed25519';
  const uid =
    opts.uid ??
    `kiln archive signing key${before.size > 0 ? ` ${new Date().toISOString().slice(0, 10)}` : ''} <kiln@localhost>`;
  await gpg(gnupgHome, ['--passphrase', '', '--quick-gen-key', uid, algo, 'sign', 'never']);
  const made = (await secretKeys(gnupgHome)).find((f) => !before.has(f));
  if (!made) throw new KilnError('KILN_E_SIGN', 'gpg made no key', { hint: `look at ${gnupgHome}`, exitCode: 1 });
  return made;
}

/** What {@link rotateKey} did. */
export interface Rotation {
  readonly previous: string;
  readonly current: string;
  readonly keyDir: string;
}

/**
 * `kiln repo key rotate`: makes a new archive key that signs from now on. The previous key keeps signing, and both
 * are in every published keyring, until each repository has published one generation that way (clients that
 * refresh the keyring then trust the new key); then the old key is deleted. A rotation during an overlap is refused.
 */
export async function rotateKey(home: string, opts: { algorithm?: KeyAlgorithm } = {}): Promise<Rotation> {
  const signer = await GpgSigner.open(home);
  try {
    const dir = path.dirname(prepareKeyDir(home));
    if (signer.previous) {
      throw new KilnError(
        'KILN_E_SIGN',
        `a key rotation is still in progress (old key ${signer.previous} signs until every repository has published once)`,
        { hint: 'publish each repository once (kiln bulk), then rotate again', exitCode: 1 },
      );
    }
    const gnupgHome = path.join(dir, 'gnupg');
    const current = await makeKey(gnupgHome, opts);
    writeState(dir, { current, previous: signer.fingerprint, overlap: [] });
    return { previous: signer.fingerprint, current, keyDir: dir };
  } finally {
    await signer.close();
  }
}
