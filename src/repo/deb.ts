/**
 * Reads a `.deb`'s control file in-process: the ar archive, then the `control.tar` member (plain, gzip or xz),
 * then the `./control` entry. Falls back to `dpkg-deb -f` for anything it cannot decode (zstd, odd tars).
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';

type XzModule = { xz: { decompressSync(input: Uint8Array): Buffer } };
let xzModule: XzModule | null | undefined;

/** The native xz decoder when it loads on this host, else null (then `dpkg-deb` does the work). */
function xz(): XzModule | null {
  if (xzModule === undefined) {
    try {
      xzModule = createRequire(import.meta.url)('@napi-rs/lzma') as XzModule;
    } catch {
      xzModule = null;
    }
  }
  return xzModule;
}

/** One member of an ar archive: name and byte range. */
interface ArMember {
  name: string;
  start: number;
  size: number;
}

function arMembers(buf: Buffer): ArMember[] | null {
  if (buf.length < 8 || buf.toString('latin1', 0, 8) !== '!<arch>\n') return null;
  const out: ArMember[] = [];
  let off = 8;
  for (let n = 0; n < 16 && off + 60 <= buf.length; n++) {
    const name = buf
      .toString('latin1', off, off + 16)
      .trim()
      .replace(/\/$/, '');
    const size = Number.parseInt(buf.toString('latin1', off + 48, off + 58).trim(), 10);
    if (!Number.isFinite(size) || off + 60 + size > buf.length) return null;
    out.push({ name, start: off + 60, size });
    off += 60 + size + (size & 1);
  }
  return out;
}

function tarEntry(tar: Buffer, wanted: (name: string) => boolean): Buffer | null {
  let off = 0;
  for (let n = 0; n < 10_000 && off + 512 <= tar.length; n++) {
    const header = tar.subarray(off, off + 512);
    if (header[0] === 0) return null;
    let name = header.toString('latin1', 0, 100).replace(/\0.*$/s, '');
    const prefix = header.toString('latin1', 345, 500).replace(/\0.*$/s, '');
    if (header.toString('latin1', 257, 262) === 'ustar' && prefix) name = `${prefix}/${name}`;
    const size = Number.parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 48);
    if ((type === '0' || type === '\0') && wanted(name)) return tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return null;
}

/**
 * The control file text of a `.deb` held in memory, or null when this reader cannot decode it (the caller then
 * uses {@link controlWithDpkg}). Throws a plain Error when the bytes are not a `.deb` at all.
 */
export function controlFromBytes(buf: Buffer): string | null {
  const members = arMembers(buf);
  if (!members || members[0]?.name !== 'debian-binary') throw new Error('not a Debian binary package (bad ar header)');
  const m = members.find((x) => x.name.startsWith('control.tar'));
  if (!m) throw new Error('no control.tar member');
  const raw = buf.subarray(m.start, m.start + m.size);
  let tar: Buffer;
  if (m.name === 'control.tar') tar = raw;
  else if (m.name === 'control.tar.gz') tar = zlib.gunzipSync(raw);
  else if (m.name === 'control.tar.xz') {
    const mod = xz();
    if (!mod) return null;
    tar = mod.xz.decompressSync(raw);
  } else return null;
  const control = tarEntry(tar, (n) => n === './control' || n === 'control');
  return control ? control.toString('utf8') : null;
}

/** The control file text through `dpkg-deb -f` (the slow, always-right path). */
export async function controlWithDpkg(path: string): Promise<string> {
  try {
    return (await run('dpkg-deb', ['-f', path])).stdout;
  } catch (e) {
    throw new KilnError('KILN_E_REPO', `cannot read the control file of ${path}`, {
      hint: 'is it a valid .deb? check it with `dpkg-deb -I`',
      cause: e,
      exitCode: 1,
    });
  }
}
