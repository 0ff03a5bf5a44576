/**
 * Host-side work on an untrusted staged tree, done without ever following a link out of it: listing entries
 * (lstat only), moving them into per-package roots (rename moves a link, not its target), making folders one
 * component at a time (refusing a link where a folder should be), and writing kiln's own files with
 * `O_CREAT|O_EXCL` after unlinking whatever the build left at that name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { isElf, readElfDynamic } from './elf.js';
import type { StagedEntry } from './split.js';

function fail(message: string): KilnError {
  return new KilnError('KILN_E_PACKAGE', message, {
    hint: 'the install step must not put links where kiln writes its own files',
    exitCode: 1,
  });
}

/** Every file, link and empty folder under `root` (links are listed, never followed), with the SONAME of shared libraries. */
export function listStaged(root: string, limit = 500_000): StagedEntry[] {
  const out: StagedEntry[] = [];
  const head = Buffer.alloc(4);
  const visit = (rel: string): void => {
    const ents = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    if (ents.length === 0 && rel !== '') out.push({ path: rel, kind: 'dir' });
    for (const e of ents) {
      if (out.length > limit) throw fail(`the staged tree holds more than ${limit} entries`);
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      const abs = path.join(root, r);
      if (e.isDirectory()) visit(r);
      else if (e.isSymbolicLink()) out.push({ path: r, kind: 'symlink', target: fs.readlinkSync(abs) });
      else if (e.isFile()) {
        const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
        let soname: string | undefined;
        try {
          if (fs.readSync(fd, head, 0, 4, 0) === 4 && isElf(head)) {
            const st = fs.fstatSync(fd);
            const buf = Buffer.alloc(st.size);
            fs.readSync(fd, buf, 0, st.size, 0);
            soname = readElfDynamic(buf)?.soname;
          }
        } finally {
          fs.closeSync(fd);
        }
        out.push({ path: r, kind: 'file', ...(soname !== undefined ? { soname } : {}) });
      }
      // sockets, fifos, devices: not packaged
    }
  };
  visit('');
  return out;
}

/** Makes `root/rel` and its parents, one component at a time; a component that exists and is not a real folder is an error. */
export function safeMkdirs(root: string, rel: string): string {
  let cur = root;
  for (const part of rel.split('/').filter((p) => p !== '' && p !== '.')) {
    if (part === '..') throw fail(`path ${rel} leaves the package root`);
    cur = path.join(cur, part);
    const st = fs.lstatSync(cur, { throwIfNoEntry: false });
    if (!st) {
      fs.mkdirSync(cur, { mode: 0o755 });
      fs.chmodSync(cur, 0o755);
    } else if (!st.isDirectory()) throw fail(`${rel}: ${part} is not a folder in the staged tree`);
  }
  return cur;
}

/** Moves entry `rel` from `from` to `to` (same file system), making the parents in `to`. */
export function moveEntry(from: string, to: string, rel: string, kind: StagedEntry['kind']): void {
  if (kind === 'dir') {
    safeMkdirs(to, rel);
    return;
  }
  const dir = path.posix.dirname(rel);
  safeMkdirs(to, dir === '.' ? '' : dir);
  fs.renameSync(path.join(from, rel), path.join(to, rel));
}

/** Writes kiln's own file `root/rel` (mode 0644): parents made safely, anything at that name removed first, then created exclusively. */
export function writeOwnFile(root: string, rel: string, data: string | Buffer): void {
  const dir = path.posix.dirname(rel);
  const abs = path.join(safeMkdirs(root, dir === '.' ? '' : dir), path.posix.basename(rel));
  const st = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw fail(`${rel} is a folder in the staged tree`);
  if (st) fs.unlinkSync(abs);
  fs.writeFileSync(abs, data, { flag: 'wx', mode: 0o644 });
  fs.chmodSync(abs, 0o644);
}

/** Makes the symbolic link `root/rel` → `target` (kiln's own), replacing nothing. */
export function writeOwnLink(root: string, rel: string, target: string): void {
  const dir = path.posix.dirname(rel);
  const abs = path.join(safeMkdirs(root, dir === '.' ? '' : dir), path.posix.basename(rel));
  if (fs.lstatSync(abs, { throwIfNoEntry: false })) throw fail(`${rel} exists in the staged tree`);
  fs.symlinkSync(target, abs);
}

/** Sets the mtime of every entry under `root` (links themselves, not their targets) to `epoch`. */
export function clampTimes(root: string, epoch: number): void {
  const when = new Date(epoch * 1000);
  const visit = (abs: string): void => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const p = path.join(abs, e.name);
      if (e.isDirectory()) visit(p);
      fs.lutimesSync(p, when, when);
    }
  };
  visit(root);
  fs.lutimesSync(root, when, when);
}
