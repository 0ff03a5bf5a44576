/**
 * The bulk's shared dependency layer (issue 18): the Debian package names most of its recipe ports install, so that
 * first builds gain too. Each port whose system dependencies include them all gets its own layer over the shared one
 * and installs only its remainder. Pure.
 */

/**
 * The largest set of names (grown one name at a time, the most common first, ties by name) that at least half of
 * `requests` (and at least two of them) contain entirely; [] when fewer than three requests are non-empty.
 */
export function sharedNames(requests: readonly (readonly string[])[]): string[] {
  const sets = requests.filter((r) => r.length > 0).map((r) => new Set(r));
  if (sets.length < 3) return [];
  const need = Math.max(2, Math.ceil(sets.length / 2));
  const count = new Map<string, number>();
  for (const s of sets) for (const n of s) count.set(n, (count.get(n) ?? 0) + 1);
  const order = [...count.entries()]
    .filter(([, c]) => c >= need)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([n]) => n);
  const shared: string[] = [];
  let holders = sets;
  for (const n of order) {
    const next = holders.filter((s) => s.has(n));
    if (next.length < need) continue;
    shared.push(n);
    holders = next;
  }
  return shared.sort();
}
