/** Finding where a failed build's log goes wrong, so the page opens it there. */

const PATTERNS: readonly RegExp[] = [
  /(^|[^-\w])(error|ERROR|Error)\b(?!s?=)/,
  /\bmake(\[\d+\])?: \*\*\*/,
  /\bfatal\b/i,
  /No such file or directory|command not found|Permission denied|undefined reference|Traceback \(most recent call last\)/,
];

/**
 * The 1-based number of the first line that looks like an error (compiler and make errors, `fatal`, missing files
 * or commands), else the line of kiln's `FAILED in phase` note, else null.
 */
export function firstErrorLine(text: string): number | null {
  const lines = text.split('\n');
  let failedAt: number | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    // kiln's own phase lines never count; stderr lines ("! ...") and plain output do.
    if (/\] === phase /.test(l)) continue;
    if (/\] FAILED in phase /.test(l)) {
      failedAt ??= i + 1;
      continue;
    }
    if (PATTERNS.some((re) => re.test(l))) return i + 1;
  }
  return failedAt;
}
