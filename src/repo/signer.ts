/**
 * Signing the repository: the {@link Signer} interface, and {@link GpgSigner}, which keeps kiln's archive key in a
 * GNUPGHOME under `HOME/keys` (mode 0700, never mounted into a sandbox) and makes it on first use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';

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
}

/** Where the archive key lives: `HOME/keys/gnupg`. */
export function keysDir(home: string): string {
  return path.join(home, 'keys');
}

/** Key algorithms {@link GpgSigner.open} can make. */
export type KeyAlgorithm = 'ed25519' | 'rsa4096';

/** Signs with gpg from `HOME/keys/gnupg`, making an archive key (no passphrase) when there is none. */
export class GpgSigner implements Signer {
  private pub: PublicKey | undefined;
  private constructor(private readonly gnupgHome: string, readonly fingerprint: string) {}

  /** Opens (and on first use creates) the key store and the archive key. */
  static async open(home: string, opts: { algorithm?: KeyAlgorithm; uid?: string } = {}): Promise<GpgSigner> {
    const dir = keysDir(home);
    const gnupgHome = path.join(dir, 'gnupg');
    try {
      fs.mkdirSync(gnupgHome, { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
      fs.chmodSync(gnupgHome, 0o700);
    } catch (e) {
      throw new KilnError('KILN_E_SIGN', `cannot make the key folder ${gnupgHome}: ${(e as Error).message}`,
        { hint: 'kiln needs to write under --home/keys (run as root, or choose another --home)', exitCode: 1, cause: e });
    }
    let fpr = await firstSecretKey(gnupgHome);
    if (!fpr) {
      const algo = opts.algorithm === 'rsa4096' ? 'rsa4096' : 'ed25519';
      await gpg(gnupgHome, ['--passphrase', '', '--quick-gen-key', opts.uid ?? 'kiln archive signing key <kiln@localhost>', algo, 'sign', 'never']);
      fpr = await firstSecretKey(gnupgHome);
      if (!fpr) throw new KilnError('KILN_E_SIGN', 'gpg made no key', { hint: `look at ${gnupgHome}`, exitCode: 1 });
    }
    return new GpgSigner(gnupgHome, fpr);
  }

  async clearsign(data: Buffer): Promise<Buffer> {
    return (await gpg(this.gnupgHome, ['--local-user', this.fingerprint, '--digest-algo', 'SHA512', '--clearsign'], data)).stdoutBytes;
  }

  async detachSign(data: Buffer): Promise<Buffer> {
    return (await gpg(this.gnupgHome, ['--local-user', this.fingerprint, '--digest-algo', 'SHA512', '--armor', '--detach-sign'], data)).stdoutBytes;
  }

  async publicKey(): Promise<PublicKey> {
    if (!this.pub) {
      const binary = (await gpg(this.gnupgHome, ['--export', this.fingerprint])).stdoutBytes;
      const armored = (await gpg(this.gnupgHome, ['--armor', '--export', this.fingerprint])).stdout;
      this.pub = { binary, armored, fingerprint: this.fingerprint };
    }
    return this.pub;
  }

  async close(): Promise<void> {
    await run('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: this.gnupgHome }, allowFailure: true })
      .catch(() => undefined);
  }
}

async function gpg(gnupgHome: string, args: string[], input?: Buffer) {
  try {
    return await run('gpg', ['--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', ...args], {
      env: { ...process.env, GNUPGHOME: gnupgHome }, input, timeoutMs: 120_000,
    });
  } catch (e) {
    throw new KilnError('KILN_E_SIGN', `gpg ${args.filter((a) => a.startsWith('--')).join(' ')} failed: ${(e as Error).message}`,
      { hint: `is gnupg installed and ${gnupgHome} intact?`, exitCode: 1, cause: e });
  }
}

async function firstSecretKey(gnupgHome: string): Promise<string | undefined> {
  const r = await gpg(gnupgHome, ['--with-colons', '--list-secret-keys']);
  const lines = r.stdout.split('\n');
  const sec = lines.findIndex((l) => l.startsWith('sec:'));
  if (sec < 0) return undefined;
  return lines.slice(sec + 1).find((l) => l.startsWith('fpr:'))?.split(':')[9];
}
