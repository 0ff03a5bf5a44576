/**
 * `kiln config [--json]`: prints every setting of `--home/kiln.yaml` with its effective value, its default
 * and what it means (all derived from the config schema). An invalid kiln.yaml prints its located
 * problems (exit 2).
 */
import fs from 'node:fs';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import { configPath, describeConfig, loadConfig, type ConfigRow } from '../../config/index.js';
import { hostMirror } from '../../debian/index.js';

const HELP = `usage: kiln config [--home DIR] [--json]

  Prints kiln's settings from HOME/kiln.yaml: the effective value of each, its default and its meaning.
  A setting not in the file has its default; a missing file means every default.
  --json   print {"file", "exists", "settings": [{"key", "value", "default", "doc"}], "effective": {...},
           "debian_archive"}  (debian_archive: debian_mirror, else the host's apt sources)`;

/** A value as printed in the table. */
function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The Debian archive in effect when debian_mirror is unset (the host's), or why there is none. */
function hostArchive(): string {
  try {
    return hostMirror();
  } catch {
    return 'none found in the host apt sources';
  }
}

/** `kiln config`. */
export async function configCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('config', argv, {});
  if (values.help) {
    ctx.out(HELP);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`kiln config: unexpected argument "${positionals[0]}"`, 'see `kiln config --help`');
  const file = configPath(ctx.home);
  const cfg = loadConfig(ctx.home);
  const exists = fs.existsSync(file);
  const rows: ConfigRow[] = describeConfig(cfg);
  const archive = cfg.debian_mirror ?? hostArchive();
  if (values.json) {
    ctx.out(JSON.stringify({ file, exists, settings: rows, effective: cfg, debian_archive: archive }, null, 2));
    return 0;
  }
  ctx.out(`# ${file}${exists ? '' : ' (absent: every setting has its default)'}`);
  const width = Math.max(...rows.map((r) => r.key.length + show(r.value).length + 3));
  for (const r of rows) {
    const set = JSON.stringify(r.value) !== JSON.stringify(r.default);
    const line =
      r.key === 'debian_mirror' && r.value === undefined
        ? `${r.key} = (unset: ${archive})`
        : `${r.key} = ${show(r.value)}`;
    ctx.out(`${line.padEnd(width)}  # ${r.doc}${set ? ` [default: ${show(r.default)}]` : ''}`);
  }
  return 0;
}
