/**
 * Help for a user who typed something kiln does not know: "did you mean" among the known words, poudriere's words
 * pointed to kiln's, global options before the command, and read commands that must not create a home.
 */
import fs from 'node:fs';
import path from 'node:path';
import { editDistance } from '../util/distance.js';

/** The known words closest to `word` (at most 3, within a third of its length, at least 1 edit allowed). Pure. */
export function didYouMean(word: string, known: Iterable<string>): string[] {
  const max = Math.max(1, Math.floor(word.length / 3));
  const scored: [string, number][] = [];
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d <= max || (k.includes('/') && word.includes('/') && k.endsWith(`/${word.split('/')[1]}`)))
      scored.push([k, d]);
  }
  return scored
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([k]) => k);
}

/** ` (did you mean a or b?)`, or '' when nothing is close. */
export function suggestion(word: string, known: Iterable<string>): string {
  const s = didYouMean(word, known);
  return s.length === 0 ? '' : ` (did you mean ${s.slice(0, -1).join(', ')}${s.length > 1 ? ' or ' : ''}${s.at(-1)}?)`;
}

/** poudriere's (and pkgsrc's) words for what kiln does under another name. */
export const POUDRIERE_WORDS: Readonly<Record<string, string>> = {
  pkgclean: 'kiln clean packages',
  distclean: 'kiln clean distfiles',
  logclean: 'kiln clean logs',
  ports: 'kiln tree',
  jails: 'kiln jail',
  queue: 'kiln status',
  foreground: 'kiln bulk',
};

/** Options kiln takes before or after the command: they move behind the command name. */
export function hoistGlobals(argv: readonly string[]): string[] {
  const lead: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--home' && i + 1 < argv.length) {
      lead.push(a, argv[++i]!);
      continue;
    }
    if (a.startsWith('--home=') || a === '--json') {
      lead.push(a);
      continue;
    }
    break;
  }
  if (lead.length === 0 || i >= argv.length) return [...argv];
  return [argv[i]!, ...lead, ...argv.slice(i + 1)];
}

/** Commands (and verbs) that only read: they must not create a home or its database. */
export function isReadOnly(name: string, rest: readonly string[]): boolean {
  const verb = rest.find((a) => !a.startsWith('-'));
  return (
    name === 'status' ||
    name === 'logs' ||
    (name === 'tree' && (verb === 'list' || verb === 'show')) ||
    (name === 'repo' && (verb === 'list' || verb === 'show')) ||
    (name === 'sandbox' && verb === 'list')
  );
}

/** True when `home` holds kiln state (its database, or published repositories). */
export function homeExists(home: string): boolean {
  return fs.existsSync(path.join(home, 'kiln.db')) || fs.existsSync(path.join(home, 'repos'));
}
