/**
 * Just enough of ELF to read a file's dynamic section: the `NEEDED` sonames and its own `SONAME`. Pure over a
 * buffer; 32/64-bit and either byte order.
 */

/** What the dynamic section of an ELF file says. */
export interface ElfDynamic {
  /** `DT_NEEDED` entries, in order. */
  readonly needed: readonly string[];
  /** `DT_SONAME`, for a shared library that has one. */
  readonly soname?: string;
}

const SHT_DYNAMIC = 6;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_SONAME = 14;

/** True when the bytes start with the ELF magic. */
export function isElf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

/** One section header. */
export interface ElfSection {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
}

/** Typed reads over an ELF image and its section headers: what both of kiln's ELF readers start from. */
export interface ElfView {
  readonly buf: Buffer;
  readonly is64: boolean;
  readonly u16: (o: number) => number;
  readonly u32: (o: number) => number;
  /** A 32- or 64-bit word, as the file's class says. */
  readonly word: (o: number) => number;
  /** `e_type`. */
  readonly type: number;
  /** Number of section headers. */
  readonly shnum: number;
  /** Section header `i`. */
  section(i: number): ElfSection;
  /** The NUL-terminated string at `off` in string table `tab`, cut at the table's end. */
  str(tab: ElfSection, off: number): string;
}

/**
 * Opens `buf` as ELF (32/64-bit, either byte order). Undefined for non-ELF bytes and for files without section
 * headers. Reads may throw on truncated files: callers catch.
 */
export function elfView(buf: Buffer): ElfView | undefined {
  if (!isElf(buf) || buf.length < 52) return undefined;
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const word = (o: number): number => (is64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : u32(o));
  const shoff = is64 ? word(0x28) : u32(0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  if (shoff === 0 || shnum === 0 || shnum > 65_000) return undefined;
  return {
    buf,
    is64,
    u16,
    u32,
    word,
    type: u16(0x10),
    shnum,
    section(i) {
      const b = shoff + i * shentsize;
      return is64
        ? {
            type: u32(b + 4),
            offset: word(b + 0x18),
            size: word(b + 0x20),
            link: u32(b + 0x28),
            info: u32(b + 0x2c),
            entsize: word(b + 0x38),
          }
        : {
            type: u32(b + 4),
            offset: u32(b + 0x10),
            size: u32(b + 0x14),
            link: u32(b + 0x18),
            info: u32(b + 0x1c),
            entsize: u32(b + 0x24),
          };
    },
    str(tab, off) {
      const start = tab.offset + off;
      const end = buf.indexOf(0, start);
      return buf.toString('utf8', start, end === -1 || end > tab.offset + tab.size ? tab.offset + tab.size : end);
    },
  };
}

/**
 * Reads the dynamic section of an ELF image. Returns undefined for non-ELF bytes, a static or truncated file,
 * or one without section headers (stripped of them on purpose); never throws on malformed input.
 */
export function readElfDynamic(buf: Buffer): ElfDynamic | undefined {
  try {
    const elf = elfView(buf);
    if (!elf) return undefined;
    const { is64, word } = elf;
    for (let i = 0; i < elf.shnum; i++) {
      const s = elf.section(i);
      if (s.type !== SHT_DYNAMIC) continue;
      const strtab = elf.section(s.link);
      const entsize = s.entsize || (is64 ? 16 : 8);
      const needed: string[] = [];
      let soname: string | undefined;
      for (let o = s.offset; o + entsize <= s.offset + s.size && o + entsize <= buf.length; o += entsize) {
        const tag = word(o);
        const val = word(o + (is64 ? 8 : 4));
        if (tag === DT_NULL) break;
        if (tag === DT_NEEDED) needed.push(elf.str(strtab, val));
        else if (tag === DT_SONAME) soname = elf.str(strtab, val);
      }
      return { needed, ...(soname === undefined ? {} : { soname }) };
    }
    return undefined;
  } catch {
    return undefined;
  }
}
