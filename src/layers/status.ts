/** dpkg's status file as a set of installed packages, and what an install added: pure text functions. */

/** `name:arch=version` of every package dpkg says is `install ok installed`, sorted. */
export function installedPackages(status: string): string[] {
  const out: string[] = [];
  for (const para of status.split(/\n\s*\n/)) {
    const f = (k: string): string | undefined => new RegExp(`^${k}:[ \\t]*(.*)$`, 'mi').exec(para)?.[1]?.trim();
    const name = f('Package');
    const version = f('Version');
    if (!name || !version || f('Status') !== 'install ok installed') continue;
    out.push(`${name}:${f('Architecture') ?? 'all'}=${version}`);
  }
  return out.sort();
}

/** What `after` has that `before` lacks (new packages and new versions), sorted. */
export function addedPackages(before: readonly string[], after: readonly string[]): string[] {
  const had = new Set(before);
  return after.filter((p) => !had.has(p)).sort();
}
