/** A jail's package manifest and identity (pure: text in, text and hashes out). */
import crypto from 'node:crypto';

/** The `dpkg-query -W` format {@link parseDpkgQuery} reads. */
export const DPKG_QUERY_FORMAT = '${db:Status-Abbrev}\t${binary:Package}=${Version}\n';

/** Turns `dpkg-query -W -f DPKG_QUERY_FORMAT` output into the manifest: installed `package=version` lines, sorted. */
export function parseDpkgQuery(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f.length === 2 && f[0]!.startsWith('ii'))
    .map((f) => f[1]!.trim())
    .sort();
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** sha256 hex of a text. */
export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/** A jail's identity: sha256 over release, arch and manifest. It enters every port's build identity. */
export function jailIdentity(release: string, arch: string, manifest: string): string {
  return sha256(`kiln-jail-v1\nrelease=${release}\narch=${arch}\n${manifest}`);
}

/** Packages whose version differs between two manifests (`pkg: old -> new`, `+pkg=v`, `-pkg=v`), sorted. */
export function diffManifests(before: string, after: string): string[] {
  const parse = (t: string): Map<string, string> =>
    new Map(
      t
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const i = l.indexOf('=');
          return [l.slice(0, i), l.slice(i + 1)] as [string, string];
        }),
    );
  const a = parse(before);
  const b = parse(after);
  const out: string[] = [];
  for (const [p, v] of a) {
    const w = b.get(p);
    if (w === undefined) out.push(`-${p}=${v}`);
    else if (w !== v) out.push(`${p}: ${v} -> ${w}`);
  }
  for (const [p, w] of b) if (!a.has(p)) out.push(`+${p}=${w}`);
  return out.sort((x, y) => x.replace(/^[-+]/, '').localeCompare(y.replace(/^[-+]/, '')));
}
