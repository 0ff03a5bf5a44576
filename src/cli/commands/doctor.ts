/**
 * `kiln doctor [--json]`: checks every requirement of the build host (sandbox tools, overlayfs, user namespaces,
 * cgroups, mmdebstrap, gpg, redis-server, chromium, qemu-user and binfmt_misc for arm64, the image tools) and
 * prints each as ok or missing with the command that fixes it. Exit 1 when a required one is missing.
 */
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import { formatDoctor, runDoctor } from '../../doctor/index.js';

const HELP = `usage: kiln doctor [--json]

  Checks what kiln needs on this host and says how to fix what is missing. Exit 1 when a required check fails;
  optional checks name the feature that needs them.
  --json   print {"ok", "checks": [{"name", "required", "ok", "detail", "fix"?, "neededFor"?}]}`;

/** `kiln doctor`. */
export async function doctorCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('doctor', argv, {});
  if (values.help) {
    ctx.out(HELP);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`kiln doctor: unexpected argument "${positionals[0]}"`, 'see `kiln doctor --help`');
  const report = await runDoctor();
  ctx.out(values.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
  return report.ok ? 0 : 1;
}
