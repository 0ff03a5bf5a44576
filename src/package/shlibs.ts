/**
 * Shared-library dependencies of a staged package: the `NEEDED` sonames of its ELF files, mapped to the Debian
 * packages that ship them (with the version floor from their `shlibs` file), minus what the package provides itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { isElf, readElfDynamic } from './elf.js';

/** One ELF file found in a staged tree. */
export interface StagedElf {
  /** Path relative to the staged root, e.g. `usr/bin/hello`. */
  readonly path: string;
  /** Its `NEEDED` sonames. */
  readonly needed: readonly string[];
  /** Its `SONAME`, for a shared library. */
  readonly soname?: string;
}

/** Maps sonames to the dependency that provides each (e.g. `libz.so.1` → `zlib1g (>= 1:1.2.3.3.dfsg-1)`). Unknown sonames are left out. */
export type SonameResolver = (sonames: readonly string[]) => Promise<ReadonlyMap<string, string>>;

/** Every regular file under `root`, as paths relative to it, sorted; `skip` names top-level entries to leave out. */
export function walkFiles(root: string, skip: readonly string[] = []): { files: string[]; others: string[] } {
  const files: string[] = [];
  const others: string[] = []; // directories and symbolic links
  const visit = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (rel === '' && skip.includes(e.name)) continue;
      if (e.isDirectory()) {
        others.push(r);
        visit(r);
      } else if (e.isFile()) files.push(r);
      else others.push(r);
    }
  };
  visit('');
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return { files: files.sort(cmp), others: others.sort(cmp) };
}

/** True when the file at `abs` starts with the ELF magic (reads only its first 4 bytes). */
export function fileIsElf(abs: string): boolean {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(abs, 'r');
  let n = 0;
  try {
    n = fs.readSync(fd, head, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
  return n >= 4 && isElf(head);
}

/** Reads the dynamic section of every ELF regular file under `root` (symbolic links are not followed). */
export function scanElfFiles(root: string, skip: readonly string[] = ['DEBIAN']): StagedElf[] {
  const out: StagedElf[] = [];
  for (const rel of walkFiles(root, skip).files) {
    const abs = path.join(root, rel);
    if (!fileIsElf(abs)) continue;
    const dyn = readElfDynamic(fs.readFileSync(abs));
    if (dyn) out.push({ path: rel, needed: dyn.needed, ...(dyn.soname === undefined ? {} : { soname: dyn.soname }) });
  }
  return out;
}

/** Splits a soname as dpkg-shlibdeps does: `libz.so.1` → [libz, 1]; `libfoo-1.2.so` → [libfoo, 1.2]. */
export function splitSoname(soname: string): [string, string] | undefined {
  let m = /^(.*)\.so\.(.*)$/.exec(soname);
  if (m) return [m[1]!, m[2]!];
  m = /^(.*)-(\d.*)\.so$/.exec(soname);
  if (m) return [m[1]!, m[2]!];
  return undefined;
}

const LIBDIR_RE = /^(?:\/usr)?\/lib(?:32|64|x32)?(?:\/[a-z0-9_]+-linux-[a-z0-9_]+)?\/([^/]+)$/;

/**
 * A resolver that reads dpkg's database under `root` (as `dpkg --root=ROOT -S` would): the package whose file
 * list holds `SONAME` in a library folder ships it; the relation carries the version floor from that package's
 * `shlibs` file when it has one (`zlib1g (>= 1:1.2.3.3.dfsg-1)`), else it is the bare package name.
 * Packages named `*-dev` or `*-dbg` are never chosen.
 */
export function dpkgSonameResolver(root = '/'): SonameResolver {
  return async (sonames) => {
    const wanted = new Set(sonames);
    const info = path.join(root, 'var/lib/dpkg/info');
    const owner = new Map<string, { pkg: string; file: string }>();
    let names: string[] = [];
    try {
      names = fs
        .readdirSync(info)
        .filter((n) => n.endsWith('.list'))
        .sort();
    } catch {
      return new Map();
    }
    for (const n of names) {
      const pkg = n.slice(0, -'.list'.length).replace(/:.*$/, '');
      if (/-(dev|dbg)$/.test(pkg)) continue;
      let text: string;
      try {
        text = fs.readFileSync(path.join(info, n), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        const m = LIBDIR_RE.exec(line);
        if (m && wanted.has(m[1]!) && !owner.has(m[1]!)) owner.set(m[1]!, { pkg, file: n.slice(0, -'.list'.length) });
      }
    }
    const out = new Map<string, string>();
    for (const [soname, { pkg, file }] of owner) {
      let rel = pkg;
      const split = splitSoname(soname);
      try {
        const shlibs = fs.readFileSync(path.join(info, `${file}.shlibs`), 'utf8');
        for (const line of shlibs.split('\n')) {
          const w = line.trim().split(/\s+/);
          if (w.length < 3 || w[0]!.endsWith(':') || !split) continue;
          if (w[0] === split[0] && w[1] === split[1]) {
            rel = w.slice(2).join(' ');
            break;
          }
        }
      } catch {
        /* no shlibs file: bare package name */
      }
      out.set(soname, rel);
    }
    return out;
  };
}

/** What {@link shlibDepends} found. */
export interface ShlibDepends {
  /** Relations to add to `Depends:`, sorted, without duplicates. */
  readonly depends: readonly string[];
  /** Every soname needed from outside the package. */
  readonly needed: readonly string[];
  /** Sonames nobody was found to ship (the package may not install cleanly). */
  readonly unresolved: readonly string[];
}

/**
 * Computes a staged package's shared-library dependencies. Sonames the package ships itself are skipped;
 * `kiln` maps sonames shipped by kiln's own dependency packages to their relation (e.g. `libmd (>= 1.0.4-k1)`),
 * or to `null` to skip them; the rest go through `resolver`.
 */
export async function shlibDepends(opts: {
  destdir: string;
  resolver: SonameResolver;
  kiln?: ReadonlyMap<string, string | null>;
}): Promise<ShlibDepends> {
  const elves = scanElfFiles(opts.destdir);
  const own = new Set<string>();
  for (const e of elves) {
    if (e.soname) own.add(e.soname);
    own.add(path.basename(e.path));
  }
  const needed = [...new Set(elves.flatMap((e) => e.needed))].filter((s) => !own.has(s)).sort();
  const rels = new Set<string>();
  const ask: string[] = [];
  for (const s of needed) {
    if (opts.kiln?.has(s)) {
      const r = opts.kiln.get(s);
      if (r) rels.add(r);
    } else ask.push(s);
  }
  const found = ask.length > 0 ? await opts.resolver(ask) : new Map<string, string>();
  const unresolved: string[] = [];
  for (const s of ask) {
    const r = found.get(s);
    if (r) rels.add(r);
    else unresolved.push(s);
  }
  return { depends: [...rels].sort(), needed, unresolved };
}

/** The sonames a built `.deb` ships (unpacked into a temporary folder with `dpkg-deb -x`). */
export async function debSonames(deb: string): Promise<string[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debx-'));
  try {
    await run('dpkg-deb', ['-x', deb, tmp], { timeoutMs: 120_000 });
    return [...new Set(scanElfFiles(tmp).flatMap((e) => (e.soname ? [e.soname] : [])))].sort();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A kiln run dependency: its package name and full Debian version. */
export interface KilnRunDep {
  readonly name: string;
  readonly version: string;
}

/**
 * The `Depends:` list of a port's package, in this order: kiln run dependencies as `NAME (>= VERSION)`, the
 * recipe's `system_run` as written, then shared-library relations. Exact duplicates are dropped, and a
 * shared-library relation on a package that is already a kiln run dependency is left out.
 */
export function composeDepends(o: {
  kilnRun?: readonly KilnRunDep[];
  systemRun?: readonly string[];
  shlibs?: readonly string[];
}): string[] {
  const out: string[] = [];
  const add = (r: string): void => {
    if (!out.includes(r)) out.push(r);
  };
  const kilnNames = new Set((o.kilnRun ?? []).map((d) => d.name));
  for (const d of o.kilnRun ?? []) add(`${d.name} (>= ${d.version})`);
  for (const r of o.systemRun ?? []) add(r.trim());
  for (const r of o.shlibs ?? []) if (!kilnNames.has(r.split(/[\s(]/)[0]!)) add(r);
  return out;
}
