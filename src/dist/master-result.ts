/**
 * Checking a worker's result on the master: each `.deb` uploaded, hashed, carrying the build's identity (recipe
 * builds) and a package of the job's port, then copied into the packages folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BuildPortInput } from '../build/index.js';
import { controlFromBytes, controlWithDpkg } from '../repo/index.js';
import { debMismatch } from './verify.js';
import { isDebName, isSha256, type DistResult } from './protocol.js';

/**
 * The `.deb`s of a good result, checked and copied into `inp.outDir` (their paths there); throws, saying why, on the
 * first one refused.
 */
export async function takeDebs(
  body: DistResult,
  inp: BuildPortInput,
  uploadsDir: string,
  arch: string,
): Promise<string[]> {
  const debs: string[] = [];
  if (body.debs.length === 0) throw new Error('a successful result carries no .deb');
  for (const d of body.debs) {
    // Files in the inbox were hashed as they arrived (the upload route keeps only bytes that hash to their name).
    const up = path.join(uploadsDir, d.sha256);
    if (!isDebName(d.name)) throw new Error(`unsafe .deb name ${JSON.stringify(d.name)}`);
    if (!isSha256(d.sha256) || !fs.existsSync(up)) throw new Error(`${d.name} was not uploaded`);
    const control = await debControl(up);
    // Recipe builds carry their identity in the .deb; Debian rebuilds keep none (lintian), the name check below holds.
    const id = /^X-Kiln-Identity:[ \t]*(\S*)/m.exec(control)?.[1] ?? '';
    if (!inp.port.debian && id !== inp.identity)
      throw new Error(`${d.name} carries identity ${id || '(none)'}, not ${inp.identity}`);
    const lie = debMismatch(control, d.name, inp.port, arch);
    if (lie !== undefined) throw new Error(`${d.name} is refused: ${lie}`);
    const dest = path.join(inp.outDir, d.name);
    fs.mkdirSync(inp.outDir, { recursive: true });
    fs.copyFileSync(up, `${dest}.tmp`);
    fs.renameSync(`${dest}.tmp`, dest);
    debs.push(dest);
  }
  return debs;
}

/** The control file of a `.deb` (read in-process from its head; `dpkg-deb` for what that cannot decode). */
async function debControl(file: string): Promise<string> {
  const fd = fs.openSync(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(Math.min(fs.fstatSync(fd).size, 4 * 1024 * 1024));
    head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } finally {
    fs.closeSync(fd);
  }
  let control: string | null = null;
  try {
    control = controlFromBytes(head);
  } catch {
    control = null;
  }
  control ??= await controlWithDpkg(file);
  return control;
}
