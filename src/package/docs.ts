/**
 * The metadata Debian requires of every binary package, rendered from the recipe: the machine-readable
 * `copyright` file (DEP-5), `changelog.Debian.gz`, and the archive section of a port's category. Pure, except
 * {@link readLicenseFiles}, which reads the upstream license files of an unpacked source without following links.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DEBIAN_SECTIONS } from '../recipe/index.js';

/** Ports-tree categories (FreeBSD's names) → Debian sections; a Debian section name maps to itself. */
const CATEGORY_SECTIONS: Readonly<Record<string, string>> = {
  accessibility: 'misc',
  archivers: 'utils',
  astro: 'science',
  audio: 'sound',
  benchmarks: 'utils',
  biology: 'science',
  cad: 'electronics',
  comms: 'comm',
  converters: 'text',
  databases: 'database',
  deskutils: 'utils',
  dns: 'net',
  emulators: 'otherosfs',
  finance: 'misc',
  ftp: 'net',
  irc: 'net',
  lang: 'interpreters',
  multimedia: 'video',
  'net-im': 'net',
  'net-mgmt': 'net',
  'net-p2p': 'net',
  print: 'text',
  'ports-mgmt': 'admin',
  security: 'utils',
  sysutils: 'admin',
  textproc: 'text',
  www: 'web',
  'x11-fonts': 'fonts',
  'x11-wm': 'x11',
  'x11-toolkits': 'libs',
  chinese: 'localization',
  japanese: 'localization',
  korean: 'localization',
  russian: 'localization',
};

/** The Debian section of a port: the recipe's `section:` when given, else its category's (`textproc` → `text`), else `misc`. */
export function portSection(origin: string, override?: string): string {
  if (override !== undefined) return override;
  const cat = origin.split('/')[0]!.toLowerCase();
  if ((DEBIAN_SECTIONS as readonly string[]).includes(cat)) return cat;
  return CATEGORY_SECTIONS[cat] ?? 'misc';
}

/** SPDX identifiers → the short names of the copyright format (DEP-5), and the file in /usr/share/common-licenses. */
const SPDX: Readonly<Record<string, { name: string; common?: string }>> = {
  'GPL-1.0-only': { name: 'GPL-1', common: 'GPL-1' },
  'GPL-1.0-or-later': { name: 'GPL-1+', common: 'GPL-1' },
  'GPL-2.0-only': { name: 'GPL-2', common: 'GPL-2' },
  'GPL-2.0-or-later': { name: 'GPL-2+', common: 'GPL-2' },
  'GPL-3.0-only': { name: 'GPL-3', common: 'GPL-3' },
  'GPL-3.0-or-later': { name: 'GPL-3+', common: 'GPL-3' },
  'LGPL-2.0-only': { name: 'LGPL-2', common: 'LGPL-2' },
  'LGPL-2.0-or-later': { name: 'LGPL-2+', common: 'LGPL-2' },
  'LGPL-2.1-only': { name: 'LGPL-2.1', common: 'LGPL-2.1' },
  'LGPL-2.1-or-later': { name: 'LGPL-2.1+', common: 'LGPL-2.1' },
  'LGPL-3.0-only': { name: 'LGPL-3', common: 'LGPL-3' },
  'LGPL-3.0-or-later': { name: 'LGPL-3+', common: 'LGPL-3' },
  'Apache-2.0': { name: 'Apache-2.0', common: 'Apache-2.0' },
  'MPL-2.0': { name: 'MPL-2.0', common: 'MPL-2.0' },
  'MPL-1.1': { name: 'MPL-1.1', common: 'MPL-1.1' },
  'CC0-1.0': { name: 'CC0-1.0', common: 'CC0-1.0' },
  'Artistic-1.0-Perl': { name: 'Artistic', common: 'Artistic' },
  'GFDL-1.3-or-later': { name: 'GFDL-1.3+', common: 'GFDL-1.3' },
  MIT: { name: 'Expat' },
  'BSD-2-Clause': { name: 'BSD-2-clause' },
  'BSD-3-Clause': { name: 'BSD-3-clause' },
  'BSD-4-Clause': { name: 'BSD-4-clause' },
  ISC: { name: 'ISC' },
  Zlib: { name: 'Zlib' },
  Unlicense: { name: 'Unlicense' },
};

/** An SPDX expression in the copyright format's syntax (`GPL-3.0-or-later` → `GPL-3+`, `A AND B` → `A and B`). */
export function dep5License(spdx: string): { expression: string; common: string[] } {
  const common: string[] = [];
  const expression = spdx
    .trim()
    .split(/(\s+|[()])/)
    .filter((w) => w.trim() !== '')
    .map((w) => {
      if (w === 'AND' || w === 'OR') return w.toLowerCase();
      if (w === 'WITH') return 'with';
      const m = SPDX[w] ?? SPDX[w.replace(/\+$/, '-or-later')];
      if (m?.common && !common.includes(m.common)) common.push(m.common);
      return m ? m.name : w;
    })
    .join(' ')
    .replace(/\( /g, '(')
    .replace(/ \)/g, ')');
  return { expression, common };
}

/** An upstream license file found in the source. */
export interface LicenseFile {
  /** Its name in the source's top folder (`COPYING`). */
  readonly name: string;
  readonly text: string;
}

const LICENSE_NAME_RE = /^(?:copying|licen[cs]e|copyright|unlicense)(?:[._-][a-z0-9._-]*)?$/i;
const MAX_LICENSE_BYTES = 256 * 1024;

/**
 * The upstream license files (`COPYING`, `LICENSE`, `LICENSE.md`, `COPYING.LIB`, …) in the top folder of an
 * unpacked source, sorted by name, at most 8 of at most 256 KiB each. Reads only regular files, opened with
 * `O_NOFOLLOW` (the source is untrusted: a link named COPYING must not make kiln read a host file).
 */
export function readLicenseFiles(srcDir: string): LicenseFile[] {
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(srcDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: LicenseFile[] = [];
  for (const e of names
    .filter((d) => d.isFile() && LICENSE_NAME_RE.test(d.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .slice(0, 8)) {
    let fd: number;
    try {
      fd = fs.openSync(
        path.join(srcDir, e.name),
        fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK,
      );
    } catch {
      continue;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.size > MAX_LICENSE_BYTES) continue;
      const buf = Buffer.alloc(st.size);
      const n = fs.readSync(fd, buf, 0, st.size, 0);
      out.push({ name: e.name, text: buf.subarray(0, n).toString('utf8') });
    } finally {
      fs.closeSync(fd);
    }
  }
  return out;
}

/** Text as the body of a control-style field: each line indented by one space, blank lines as ` .`. */
function fieldBody(text: string): string[] {
  // eslint-disable-next-line no-control-regex
  const lines = text
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, '        ')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''));
  while (lines.length > 0 && lines[0] === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l === '' ? ' .' : ` ${l}`));
}

/** Copyright lines of the license files (`Copyright (c) 2004 Guillem Jover`), at most 20, without duplicates. */
function copyrightNotices(files: readonly LicenseFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    for (const l of f.text.split('\n')) {
      const m = /^\s*(?:[#*/;-]+\s*)?(Copyright\s*(?:\([cC]\)|©)?\s*\d{4}.*)$/.exec(l);
      const t = m?.[1]?.trim().replace(/^Copyright\s*(?:\([cC]\)|©)?\s*/, '');
      if (t && t.length < 200 && !out.includes(t)) out.push(t);
    }
  }
  return out.slice(0, 20);
}

/** What {@link copyrightText} needs. */
export interface CopyrightInput {
  /** The port's package name (Upstream-Name). */
  readonly name: string;
  readonly origin: string;
  /** The recipe's SPDX `license`; absent means unknown. */
  readonly license?: string;
  /** Where the source comes from (homepage or the first distfile's URL). */
  readonly source?: string;
  readonly files: readonly LicenseFile[];
}

/**
 * The machine-readable copyright file (copyright-format 1.0): one `Files: *` paragraph whose License is the
 * recipe's license in the format's names, with the upstream license files' text (or, for licenses Debian ships
 * in /usr/share/common-licenses, a pointer there), and the copyright lines found in those files.
 */
export function copyrightText(c: CopyrightInput): string {
  const lic = c.license ? dep5License(c.license) : { expression: 'unknown', common: [] };
  const notices = copyrightNotices(c.files);
  const own =
    c.files.length > 0 &&
    !(
      lic.common.length > 0 &&
      /^[^()]*$/.test(lic.expression) &&
      lic.expression.split(/ (?:and|or) /).length === lic.common.length
    );
  const body: string[] = [];
  for (const f of lic.common)
    body.push(
      ` On Debian systems, the complete text of the ${f} license can be found in`,
      ` "/usr/share/common-licenses/${f}".`,
    );
  if (own) {
    for (const f of c.files) {
      if (body.length > 0) body.push(' .');
      body.push(` The upstream file ${f.name.replace(/[^\x20-\x7e]/g, '?')}:`, ' .', ...fieldBody(f.text));
    }
  }
  if (body.length === 0)
    body.push(' The recipe names this license; the source carries no license file kiln recognizes.');
  const head = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    `Upstream-Name: ${c.name}`,
  ];
  if (c.source && /^\S+$/.test(c.source)) head.push(`Source: ${c.source}`);
  head.push(
    `Comment: Packaged by kiln from the port ${c.origin}; the license is the recipe's${c.license ? ` (SPDX: ${c.license.replace(/\s+/g, ' ')})` : ''}.`,
  );
  const files = [
    'Files: *',
    notices.length > 0 ? `Copyright: ${notices[0]}` : 'Copyright: the upstream authors (see the license text)',
    ...notices.slice(1).map((n) => `           ${n}`),
    `License: ${lic.expression}`,
    ...body,
  ];
  return `${head.join('\n')}\n\n${files.join('\n')}\n`;
}

/** RFC 5322 date as changelogs write it: `Tue, 14 Nov 2023 22:13:20 +0000`. */
export function changelogDate(epoch: number): string {
  return new Date(epoch * 1000).toUTCString().replace(/GMT$/, '+0000');
}

/** What {@link changelogText} needs. */
export interface ChangelogInput {
  /** Source package name (the port's package name). */
  readonly source: string;
  /** Full Debian version (`1.0.4-k1`). */
  readonly version: string;
  readonly origin: string;
  readonly identity: string;
  /** `Name <email>`. */
  readonly maintainer: string;
  /** Seconds since the epoch (SOURCE_DATE_EPOCH). */
  readonly epoch: number;
}

/** `changelog.Debian`: kiln's entry for this build (what kiln knows of the port's history). */
export function changelogText(c: ChangelogInput): string {
  return (
    `${c.source} (${c.version}) kiln; urgency=medium\n\n` +
    `  * Built by kiln from the port ${c.origin}\n    (build identity ${c.identity.slice(0, 16)}).\n\n` +
    ` -- ${c.maintainer}  ${changelogDate(c.epoch)}\n`
  );
}

/** gzip with maximum compression and no name or time in the header (as `gzip -9n`): the same bytes every time. */
export function gzipN(data: string | Buffer): Buffer {
  return zlib.gzipSync(data, { level: 9 });
}
