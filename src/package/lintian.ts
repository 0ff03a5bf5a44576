/**
 * lintian, Debian's package checker, run on built `.deb`s (the QA test and `bench/lintian-examples`): its output
 * parsed into tags, counted by severity and tag, and checked against kiln's allow-list of warnings.
 */
import { run } from '../util/exec.js';

/** One line of lintian's output: `E: hello: no-copyright-file`. */
export interface LintianTag {
  /** `E` error, `W` warning, `I` info, `P` pedantic, `X` experimental, `O` overridden, `C` classification, `N` note. */
  readonly severity: string;
  readonly package: string;
  readonly tag: string;
  /** What follows the tag (file names, values). */
  readonly detail: string;
  /** The line as lintian printed it. */
  readonly line: string;
}

/**
 * Warnings a kiln package may carry, each with the reason it is allowed (the QA test fails on any other `W:` and on
 * every `E:`). Keep it short: each entry is a place where kiln's packages knowingly differ from Debian's.
 */
export const LINTIAN_ALLOWED_WARNINGS: Readonly<Record<string, string>> = {
  'unknown-field':
    "X-Kiln-Identity only: the dist master checks that a worker's .deb is the build it asked for by this field " +
    '(src/dist); it goes when the identity is kept beside the .deb instead',
  'pkg-config-unavailable-for-cross-compilation':
    'autotools ports install into /usr/lib as the port spec says ' +
    '(--prefix=/usr, no multiarch --libdir), so their .pc files are not in a multiarch folder',
};

/** Allowed warnings whose detail must match too (else the tag is a violation): `unknown-field` only for kiln's identity. */
const ALLOWED_DETAIL: Readonly<Record<string, RegExp>> = {
  'unknown-field': /^X-Kiln-Identity$/,
};

const LINE_RE = /^([A-Z]): ([^:\s]+)(?: [^:]*)?: (\S+)(?: (.*))?$/;

/** Parses lintian's output (`--no-tag-display-limit` lines); other lines are ignored. */
export function parseLintian(text: string): LintianTag[] {
  const out: LintianTag[] = [];
  for (const line of text.split('\n')) {
    const m = LINE_RE.exec(line.trim());
    if (m) out.push({ severity: m[1]!, package: m[2]!, tag: m[3]!, detail: m[4] ?? '', line: line.trim() });
  }
  return out;
}

/** Runs lintian on the `.deb`s (root allowed; no tag display limit; info tags shown) and returns its tags. */
export async function runLintian(debs: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<LintianTag[]> {
  if (debs.length === 0) return [];
  const r = await run('lintian', ['--allow-root', '--no-tag-display-limit', '--display-info', '--', ...debs], {
    allowFailure: true,
    timeoutMs: 20 * 60_000,
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return parseLintian(r.stdout);
}

/** Counts tags as `SEVERITY: tag` → number, most frequent first, then by name. */
export function lintianCounts(tags: readonly LintianTag[]): [string, number][] {
  const m = new Map<string, number>();
  for (const t of tags) {
    const k = `${t.severity}: ${t.tag}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** The tags that break kiln's rule: every `E:`, and `W:` not in {@link LINTIAN_ALLOWED_WARNINGS}. */
export function lintianViolations(
  tags: readonly LintianTag[],
  allowed: Readonly<Record<string, string>> = LINTIAN_ALLOWED_WARNINGS,
): LintianTag[] {
  return tags.filter(
    (t) =>
      t.severity === 'E' ||
      (t.severity === 'W' &&
        (!(t.tag in allowed) || (ALLOWED_DETAIL[t.tag] !== undefined && !ALLOWED_DETAIL[t.tag]!.test(t.detail)))),
  );
}
