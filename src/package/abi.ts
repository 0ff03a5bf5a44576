/**
 * The ABI of a package, as a hash: what a dependent that links against it sees. For the ABI check of incremental
 * bulks: when a rebuilt library's ABI hash is unchanged, its dependents need not be rebuilt.
 *
 * The hash covers, in a canonical text:
 * - every shared library (an ELF `ET_DYN` file with a `SONAME`): its soname and its exported dynamic symbols
 *   (defined, global or weak, default or protected visibility), each with its type, its symbol version
 *   (`name@@VER` for the default version, `name@VER` for a hidden one) and, for data objects, its size;
 * - the bytes of every header under `usr/include` (struct layouts and inline functions are ABI too);
 * - the bytes of every static archive (`*.a`: a dependent linking statically embeds the code);
 * - every pkg-config file (`*.pc`) without its `Version:` line (link flags matter, the version does not).
 * Programs, data and documentation are not part of it. A package with none of these has no ABI (undefined): its
 * dependents then follow its build identity as usual. The ELF reader is our own (no binutils needed).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { elfView, type ElfSection } from './elf.js';
import { fileIsElf, walkFiles } from './shlibs.js';

/** The exported interface of one ELF shared object. */
export interface ElfExports {
  /** `DT_SONAME`, when it has one. */
  readonly soname?: string;
  /** True for `ET_DYN` (shared objects and PIE programs). */
  readonly shared: boolean;
  /** Exported symbols as `name@@VER TYPE` / `name@VER TYPE` / `name TYPE`, data objects with `:SIZE`; sorted. */
  readonly symbols: readonly string[];
}

/** A package's ABI, and what it was computed from. */
export interface AbiSummary {
  /** sha256 hex of {@link abiText}. */
  readonly hash: string;
  /** Shared libraries by path (relative to the root), with their exports. */
  readonly libraries: readonly {
    readonly path: string;
    readonly soname: string;
    readonly symbols: readonly string[];
  }[];
  /** Headers, static archives and pkg-config files that entered the hash (relative paths). */
  readonly files: readonly string[];
  /** The canonical text that was hashed. */
  readonly text: string;
}

const SHT_DYNSYM = 11;
const SHT_DYNAMIC = 6;
const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERSYM = 0x6fffffff;
const DT_SONAME = 14;
const ET_DYN = 3;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STB_GNU_UNIQUE = 10;
const STV_HIDDEN = 2;
const STV_INTERNAL = 1;
const TYPE_NAMES: Record<number, string> = { 0: 'NOTYPE', 1: 'OBJECT', 2: 'FUNC', 6: 'TLS', 10: 'IFUNC' };

/**
 * Reads the exported dynamic symbols (with versions) and the soname of an ELF image. Returns undefined for
 * non-ELF bytes and for files without a dynamic symbol table; never throws on malformed input.
 */
export function readElfExports(buf: Buffer): ElfExports | undefined {
  try {
    const elf = elfView(buf);
    if (!elf) return undefined;
    const { is64, u16, u32, word } = elf;
    const etype = elf.type;
    const shnum = elf.shnum;
    const sec = (i: number): ElfSection => elf.section(i);
    const strAt = (tab: ElfSection, off: number): string => elf.str(tab, off);
    let dynsym: ElfSection | undefined;
    let versym: ElfSection | undefined;
    let verdef: ElfSection | undefined;
    let soname: string | undefined;
    for (let i = 0; i < shnum; i++) {
      const s = sec(i);
      if (s.type === SHT_DYNSYM) dynsym = s;
      else if (s.type === SHT_GNU_VERSYM) versym = s;
      else if (s.type === SHT_GNU_VERDEF) verdef = s;
      else if (s.type === SHT_DYNAMIC) {
        const strtab = sec(s.link);
        const ent = s.entsize || (is64 ? 16 : 8);
        for (let o = s.offset; o + ent <= s.offset + s.size && o + ent <= buf.length; o += ent) {
          const tag = word(o);
          if (tag === 0) break;
          if (tag === DT_SONAME) soname = strAt(strtab, word(o + (is64 ? 8 : 4)));
        }
      }
    }
    if (!dynsym) return undefined;
    // Version definitions: index → name (verdef entries: vd_ndx at +4, vd_aux at +12, vd_next at +16; aux: vda_name).
    const versions = new Map<number, string>();
    if (verdef) {
      const strtab = sec(verdef.link);
      let o = verdef.offset;
      for (let n = 0; n < verdef.info && n < 65_536; n++) {
        const ndx = u16(o + 4);
        const aux = u32(o + 12);
        versions.set(ndx, strAt(strtab, u32(o + aux)));
        const next = u32(o + 16);
        if (next === 0) break;
        o += next;
      }
    }
    const strtab = sec(dynsym.link);
    const ent = dynsym.entsize || (is64 ? 24 : 16);
    const symbols: string[] = [];
    for (let i = 1; i * ent + ent <= dynsym.size; i++) {
      const o = dynsym.offset + i * ent;
      const name = u32(o);
      const info = buf[o + (is64 ? 4 : 12)]!;
      const other = buf[o + (is64 ? 5 : 13)]!;
      const shndx = u16(o + (is64 ? 6 : 14));
      const size = is64 ? word(o + 16) : u32(o + 8);
      const bind = info >> 4;
      const type = info & 0xf;
      const vis = other & 3;
      if (shndx === 0 || !(bind === STB_GLOBAL || bind === STB_WEAK || bind === STB_GNU_UNIQUE)) continue;
      if (vis === STV_HIDDEN || vis === STV_INTERNAL) continue;
      const typeName = TYPE_NAMES[type];
      if (typeName === undefined) continue; // sections, files
      let ver = '';
      if (versym) {
        const v = u16(versym.offset + i * 2);
        const idx = v & 0x7fff;
        const vname = idx > 1 ? versions.get(idx) : undefined;
        if (vname !== undefined) ver = `${v & 0x8000 ? '@' : '@@'}${vname}`;
      }
      const weak = bind === STB_WEAK ? ' WEAK' : '';
      symbols.push(`${strAt(strtab, name)}${ver} ${typeName}${weak}${type === 1 || type === 6 ? `:${size}` : ''}`);
    }
    symbols.sort();
    return { ...(soname === undefined ? {} : { soname }), shared: etype === ET_DYN, symbols };
  } catch {
    return undefined;
  }
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Is `rel` a file whose bytes are part of the ABI (header, static archive, pkg-config file)? */
function interfaceFile(rel: string): 'header' | 'archive' | 'pc' | undefined {
  if (rel.startsWith('usr/include/')) return 'header';
  if (rel.endsWith('.a') && /(^|\/)lib[^/]*\.a$/.test(rel)) return 'archive';
  if (rel.endsWith('.pc') && rel.includes('/pkgconfig/')) return 'pc';
  return undefined;
}

/**
 * The ABI of an unpacked package (or a staged DESTDIR) at `root`; undefined when it ships no shared library,
 * header, static archive or pkg-config file. `skip` names top-level entries to leave out (default `DEBIAN`).
 */
export function abiOfTree(root: string, skip: readonly string[] = ['DEBIAN']): AbiSummary | undefined {
  const libraries: { path: string; soname: string; symbols: readonly string[] }[] = [];
  const files: string[] = [];
  const parts: string[] = [];
  for (const rel of walkFiles(root, skip).files) {
    const abs = path.join(root, rel);
    const kind = interfaceFile(rel);
    if (kind !== undefined) {
      let bytes = fs.readFileSync(abs);
      if (kind === 'pc')
        bytes = Buffer.from(
          bytes
            .toString('utf8')
            .split('\n')
            .filter((l) => !/^Version:/.test(l))
            .join('\n'),
        );
      files.push(rel);
      parts.push(`file ${rel} ${sha256(bytes)}`);
      continue;
    }
    if (!fileIsElf(abs)) continue;
    const ex = readElfExports(fs.readFileSync(abs));
    if (!ex || !ex.shared || ex.soname === undefined) continue;
    libraries.push({ path: rel, soname: ex.soname, symbols: ex.symbols });
  }
  if (libraries.length === 0 && files.length === 0) return undefined;
  // Libraries by soname (then path), so moving a library between folders of the search path does not count.
  libraries.sort((a, b) =>
    a.soname < b.soname ? -1 : a.soname > b.soname ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  const text = [
    'kiln-abi 1',
    ...libraries.flatMap((l) => [`soname ${l.soname}`, ...l.symbols.map((s) => `  ${s}`)]),
    ...parts,
    '',
  ].join('\n');
  return { hash: sha256(text), libraries, files, text };
}

/** The ABI of a built `.deb` (unpacked into a temporary folder with `dpkg-deb -x`); undefined when it has none. */
export async function debAbi(deb: string): Promise<AbiSummary | undefined> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-abi-'));
  try {
    await run('dpkg-deb', ['-x', deb, tmp], { timeoutMs: 300_000 });
    return abiOfTree(tmp, []);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The ABI hash of a built `.deb` (for `BuiltRecord.abi`), or undefined when it ships no library interface. */
export async function debAbiHash(deb: string): Promise<string | undefined> {
  return (await debAbi(deb))?.hash;
}
