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

/**
 * Reads the dynamic section of an ELF image. Returns undefined for non-ELF bytes, a static or truncated file,
 * or one without section headers (stripped of them on purpose); never throws on malformed input.
 */
export function readElfDynamic(buf: Buffer): ElfDynamic | undefined {
  if (!isElf(buf) || buf.length < 52) return undefined;
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const word = (o: number): number => (is64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : u32(o));
  try {
    const shoff = is64 ? word(0x28) : u32(0x20);
    const shentsize = u16(is64 ? 0x3a : 0x2e);
    const shnum = u16(is64 ? 0x3c : 0x30);
    if (shoff === 0 || shnum === 0 || shnum > 65_000) return undefined;
    const sec = (i: number): { type: number; offset: number; size: number; link: number; entsize: number } => {
      const b = shoff + i * shentsize;
      return is64
        ? { type: u32(b + 4), offset: word(b + 0x18), size: word(b + 0x20), link: u32(b + 0x28), entsize: word(b + 0x38) }
        : { type: u32(b + 4), offset: u32(b + 0x10), size: u32(b + 0x14), link: u32(b + 0x18), entsize: u32(b + 0x24) };
    };
    for (let i = 0; i < shnum; i++) {
      const s = sec(i);
      if (s.type !== SHT_DYNAMIC) continue;
      const strtab = sec(s.link);
      const str = (off: number): string => {
        const start = strtab.offset + off;
        const end = buf.indexOf(0, start);
        return buf.toString('utf8', start, end === -1 ? strtab.offset + strtab.size : end);
      };
      const entsize = s.entsize || (is64 ? 16 : 8);
      const needed: string[] = [];
      let soname: string | undefined;
      for (let o = s.offset; o + entsize <= s.offset + s.size && o + entsize <= buf.length; o += entsize) {
        const tag = word(o);
        const val = word(o + (is64 ? 8 : 4));
        if (tag === DT_NULL) break;
        if (tag === DT_NEEDED) needed.push(str(val));
        else if (tag === DT_SONAME) soname = str(val);
      }
      return { needed, ...(soname === undefined ? {} : { soname }) };
    }
    return undefined;
  } catch {
    return undefined;
  }
}
