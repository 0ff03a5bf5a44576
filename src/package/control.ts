/**
 * The binary package's `DEBIAN/control` file, rendered from typed fields. Pure: no disk, no process.
 */
import { KilnError } from '../util/errors.js';

/** The fields of a binary package's control file. */
export interface ControlFields {
  /** `Package:` name (Debian rules: `[a-z0-9][a-z0-9+.-]+`). */
  readonly package: string;
  /** Full Debian version (`2.10-k1`; see {@link debVersion}). */
  readonly version: string;
  /** `amd64`, `all`, … */
  readonly architecture: string;
  /** `Name <email>`. */
  readonly maintainer: string;
  /** KiB, as dpkg counts it; filled in by `buildDeb` when absent. */
  readonly installedSize?: number;
  /** `Depends:` relations, in order (duplicates are dropped). */
  readonly depends?: readonly string[];
  /** `Pre-Depends:` relations. */
  readonly preDepends?: readonly string[];
  /** `Recommends:` relations. */
  readonly recommends?: readonly string[];
  /** `Suggests:` relations. */
  readonly suggests?: readonly string[];
  /** `Conflicts:` relations. */
  readonly conflicts?: readonly string[];
  /** `Breaks:` relations. */
  readonly breaks?: readonly string[];
  /** `Replaces:` relations. */
  readonly replaces?: readonly string[];
  /** `Provides:` relations. */
  readonly provides?: readonly string[];
  /** `Section:`. */
  readonly section?: string;
  /** `Priority:` (default `optional`). */
  readonly priority?: string;
  /** `Homepage:`. */
  readonly homepage?: string;
  /** One-line synopsis (first line of `Description:`). */
  readonly summary: string;
  /** Long description; formatted per Debian policy 5.6.13 by {@link formatDescription}. */
  readonly description?: string;
  /** Further fields, written after the standard ones in the given order (e.g. `X-Kiln-Origin`). */
  readonly extra?: Readonly<Record<string, string>>;
}

/** The Debian version kiln gives a port's package: `VERSION-kREVISION`. */
export function debVersion(version: string, revision: number): string {
  return `${version}-k${revision}`;
}

const PKG_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const VERSION_RE = /^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~:-]*$/;
const ARCH_RE = /^[a-z0-9][a-z0-9-]*$/;
const FIELD_RE = /^[A-Za-z][A-Za-z0-9-]*$/;

function bad(message: string): KilnError {
  return new KilnError('KILN_E_PACKAGE', message, { hint: 'fix the recipe field named in the message', exitCode: 1 });
}

function wrap(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(/ +/)) {
    if (cur !== '' && cur.length + 1 + word.length > width) {
      out.push(cur);
      cur = word;
    } else cur = cur === '' ? word : `${cur} ${word}`;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/**
 * Formats a long description for the control file: each line gets one leading space; a blank line becomes ` .`;
 * lines the author indented are kept verbatim (policy: displayed as is), tabs become spaces; other lines longer
 * than 79 columns are word-wrapped. Leading and trailing blank lines are dropped. Returns the lines after the
 * synopsis, joined with `\n`, or `''` for no long text.
 */
export function formatDescription(text: string | undefined): string {
  if (text === undefined) return '';
  const lines = text
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, '        ')
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''));
  while (lines.length > 0 && lines[0] === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out: string[] = [];
  for (const l of lines) {
    if (l === '' || l === '.') out.push(' .');
    else if (/^\s/.test(l)) out.push(` ${l}`);
    else for (const w of wrap(l, 78)) out.push(` ${w}`);
  }
  return out.join('\n');
}

function relations(name: string, list: readonly string[] | undefined): [string, string] | undefined {
  if (!list || list.length === 0) return undefined;
  const seen = new Set<string>();
  const items: string[] = [];
  for (const r of list) {
    const t = r.trim().replace(/\s+/g, ' ');
    if (t === '' || /[\n,]/.test(r)) throw bad(`${name}: bad relation ${JSON.stringify(r)}`);
    if (!seen.has(t)) {
      seen.add(t);
      items.push(t);
    }
  }
  return [name, items.join(', ')];
}

/**
 * Renders a control file (ends with one newline). Throws KILN_E_PACKAGE for a bad package name, version,
 * architecture, an empty maintainer or summary, or a value with a line break where none is allowed.
 */
export function renderControl(f: ControlFields): string {
  if (!PKG_RE.test(f.package)) throw bad(`Package: ${JSON.stringify(f.package)} is not a Debian package name`);
  if (!VERSION_RE.test(f.version)) throw bad(`Version: ${JSON.stringify(f.version)} is not a Debian version`);
  if (!ARCH_RE.test(f.architecture))
    throw bad(`Architecture: ${JSON.stringify(f.architecture)} is not an architecture`);
  const summary = f.summary.trim();
  if (summary === '' || summary.includes('\n')) throw bad('Description: the summary must be one non-empty line');
  const single = (name: string, v: string | undefined): [string, string] | undefined => {
    if (v === undefined) return undefined;
    const t = v.trim();
    if (t === '' || t.includes('\n')) throw bad(`${name}: must be one non-empty line`);
    return [name, t];
  };
  if (f.maintainer.trim() === '') throw bad('Maintainer: must not be empty');
  const rows: ([string, string] | undefined)[] = [
    ['Package', f.package],
    ['Version', f.version],
    ['Architecture', f.architecture],
    single('Maintainer', f.maintainer),
    f.installedSize === undefined ? undefined : ['Installed-Size', String(Math.max(0, Math.ceil(f.installedSize)))],
    relations('Pre-Depends', f.preDepends),
    relations('Depends', f.depends),
    relations('Recommends', f.recommends),
    relations('Suggests', f.suggests),
    relations('Breaks', f.breaks),
    relations('Conflicts', f.conflicts),
    relations('Replaces', f.replaces),
    relations('Provides', f.provides),
    single('Section', f.section),
    ['Priority', (f.priority ?? 'optional').trim()],
    single('Homepage', f.homepage),
  ];
  for (const [k, v] of Object.entries(f.extra ?? {})) {
    if (!FIELD_RE.test(k)) throw bad(`${k}: not a valid control field name`);
    rows.push(single(k, v));
  }
  const long = formatDescription(f.description);
  const text = rows
    .filter((r): r is [string, string] => r !== undefined)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  return `${text}\nDescription: ${summary}${long === '' ? '' : `\n${long}`}\n`;
}
