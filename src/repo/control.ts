/**
 * Debian control paragraphs (RFC 822-like `Field: value` stanzas with continuation lines) and dpkg's version
 * ordering. Pure: no disk, no process, no clock.
 */

/** One field of a control paragraph, in file order. `value` keeps continuation lines (joined by `\n`). */
export interface ControlField {
  readonly name: string;
  readonly value: string;
}

/** Parses one control paragraph. Comments (`#`) and blank lines are skipped; field names keep their spelling. */
export function parseControl(text: string): ControlField[] {
  const out: { name: string; value: string }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (/^[ \t]/.test(line)) {
      const last = out[out.length - 1];
      if (last) last.value += `\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return out;
}

/** Value of `name` (case-insensitive), or undefined. */
export function controlValue(fields: readonly ControlField[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === lower)?.value;
}

/** Renders fields as one paragraph, each line ending in `\n` (no blank line after). */
export function renderControl(fields: readonly ControlField[]): string {
  let s = '';
  for (const f of fields)
    s += f.value === '' || f.value.startsWith('\n') ? `${f.name}:${f.value}\n` : `${f.name}: ${f.value}\n`;
  return s;
}

function order(c: string): number {
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let diff = 0;
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ac = i < a.length && !/\d/.test(a[i]!) ? order(a[i]!) : 0;
      const bc = j < b.length && !/\d/.test(b[j]!) ? order(b[j]!) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /\d/.test(a[i]!) && j < b.length && /\d/.test(b[j]!)) {
      if (diff === 0) diff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /\d/.test(a[i]!)) return 1;
    if (j < b.length && /\d/.test(b[j]!)) return -1;
    if (diff !== 0) return diff;
  }
  return 0;
}

function splitVersion(v: string): { epoch: number; upstream: string; revision: string } {
  const colon = v.indexOf(':');
  const epoch = colon > 0 ? Number(v.slice(0, colon)) || 0 : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash > 0
    ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) }
    : { epoch, upstream: rest, revision: '' };
}

/** Compares two Debian versions as dpkg does (epoch, upstream, revision; `~` sorts first). Negative, 0 or positive. */
export function compareVersions(a: string, b: string): number {
  const x = splitVersion(a);
  const y = splitVersion(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return compareFragment(x.upstream, y.upstream) || compareFragment(x.revision, y.revision);
}

/** The version as it appears in a pool file name: without its epoch. */
export function versionForFilename(v: string): string {
  const colon = v.indexOf(':');
  return colon > 0 ? v.slice(colon + 1) : v;
}
