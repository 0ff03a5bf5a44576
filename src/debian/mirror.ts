/**
 * Where Debian's archive is: read from the host's apt sources (`/etc/apt/sources.list.d/*.sources` in deb822
 * form, `*.list` and `/etc/apt/sources.list` in one-line form). kiln never writes a mirror's host name itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';

/** One `deb` / `deb-src` entry of the host's apt sources. */
export interface AptSource {
  readonly types: readonly string[];
  readonly uri: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
  readonly signedBy?: string;
  /** The file it was read from. */
  readonly file: string;
}

/** Parses deb822 `.sources` text. Disabled stanzas (`Enabled: no`) are dropped. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#') || raw.trim() === '') continue;
      if (/^\s/.test(raw) && last !== undefined) {
        fields.set(last, `${fields.get(last) ?? ''}\n${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (m) {
        last = m[1]!.toLowerCase();
        fields.set(last, m[2]!.trim());
      }
    }
    if (!fields.has('uris') || (fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    for (const uri of words('uris')) {
      out.push({
        types: words('types'),
        uri: uri.replace(/\/+$/, ''),
        suites: words('suites'),
        components: words('components'),
        ...(fields.has('signed-by') ? { signedBy: fields.get('signed-by')! } : {}),
        file,
      });
    }
  }
  return out;
}

/** Parses one-line `sources.list` text (`deb [opts] URI SUITE COMPONENT...`). */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signed = /signed-by=(\S+)/.exec(m[2] ?? '');
    out.push({
      types: [m[1]!],
      uri: m[3]!.replace(/\/+$/, ''),
      suites: [m[4]!],
      components: m[5]!.split(/\s+/).filter(Boolean),
      ...(signed ? { signedBy: signed[1]! } : {}),
      file,
    });
  }
  return out;
}

/** Reads every apt source of the host under `root` (default `/`). */
export function hostAptSources(root = '/'): AptSource[] {
  const out: AptSource[] = [];
  const dir = path.join(root, 'etc/apt/sources.list.d');
  const main = path.join(root, 'etc/apt/sources.list');
  if (fs.existsSync(main)) out.push(...parseOneLineSources(fs.readFileSync(main, 'utf8'), main));
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    /* no folder */
  }
  for (const n of names) {
    const f = path.join(dir, n);
    if (n.endsWith('.sources')) out.push(...parseDeb822Sources(fs.readFileSync(f, 'utf8'), f));
    else if (n.endsWith('.list')) out.push(...parseOneLineSources(fs.readFileSync(f, 'utf8'), f));
  }
  return out;
}

/**
 * The Debian archive mirror URL (no trailing slash) from the host's apt sources: the first `deb` source whose
 * components include `main` and whose URI does not look like a security or updates-only archive. `override`
 * (kiln.yaml's `debian_mirror` or `--mirror`) wins when given.
 */
export function hostMirror(override?: string, root = '/'): string {
  if (override) return override.replace(/\/+$/, '');
  const sources = hostAptSources(root).filter((s) => s.types.includes('deb') && s.components.includes('main'));
  const plain = sources.find(
    (s) => !/security/.test(s.uri) && !s.suites.every((x) => /-(security|updates|backports)$/.test(x)),
  );
  const pick = plain ?? sources[0];
  if (!pick) {
    throw new KilnError(
      'KILN_E_CONFIG',
      `no Debian mirror found in ${path.join(root, 'etc/apt/sources.list.d')} or sources.list`,
      {
        hint: "add a deb source for Debian main to the host's apt sources, or set debian_mirror in kiln.yaml",
        exitCode: 2,
      },
    );
  }
  return pick.uri;
}

/**
 * Debian's security archive URL (no trailing slash) from the host's apt sources: the first `deb` source for `main`
 * whose URI names `security` or whose suites are all `-security` ones. `override` wins when given; undefined when the
 * host has none (jails then go without `REL-security`, and say so).
 */
export function hostSecurityMirror(override?: string, root = '/'): string | undefined {
  if (override) return override.replace(/\/+$/, '');
  const sources = hostAptSources(root).filter((s) => s.types.includes('deb') && s.components.includes('main'));
  return sources.find(
    (s) => /security/.test(s.uri) || (s.suites.length > 0 && s.suites.every((x) => /-security$/.test(x))),
  )?.uri;
}
