/**
 * `kiln sandbox list | shell ID | rm ID`: the sandboxes `kiln testport --keep` left (`HOME/kept-sandboxes`).
 * `shell` opens a shell in one as the build user, in its build folder, with the build's environment; `rm` unmounts
 * and deletes it (`kiln clean sandboxes` deletes them all).
 */
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import { findKept, keptShellRoot, listKept, openShell, removeKept } from '../../sandbox/index.js';

const HELP = `usage: kiln sandbox list [--json] | shell ID [--root] | rm ID

  The sandboxes kept by \`kiln testport --keep\`.
  list        each kept sandbox: id, port, jail, how its build ended, when
  shell ID    a shell inside it (as the build user, in the build folder, with the build's environment;
              --root: as root). Needs a terminal. ID may be a unique prefix.
  rm ID       unmount and delete it (\`kiln clean sandboxes\` deletes every one)`;

/** Handler of `kiln sandbox`. */
export async function sandboxCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('sandbox', argv, { root: { type: 'boolean', default: false } });
  if (values.help) {
    ctx.out(HELP);
    return 0;
  }
  const [verb, id, ...extra] = positionals;
  if (verb === 'list' && id === undefined) {
    const all = listKept(ctx.home);
    if (values.json) {
      ctx.out(JSON.stringify(all.map(({ env: _e, binds: _b, userns: _u, ...k }) => k)));
      return 0;
    }
    if (all.length === 0) {
      ctx.out('no kept sandboxes (kiln testport --keep keeps one)');
      return 0;
    }
    for (const k of all) {
      ctx.out(
        `${k.id}  ${k.origin}  jail ${k.jail}  ${k.ok ? 'built' : `failed in ${k.phase ?? '?'}`}  ${k.created}${k.mounted ? '' : '  (not mounted)'}`,
      );
    }
    return 0;
  }
  if ((verb === 'shell' || verb === 'rm') && id !== undefined && extra.length === 0) {
    if (verb === 'rm') {
      const k = await removeKept(ctx.home, id);
      ctx.out(`removed sandbox ${k.id} (${k.origin})`);
      return 0;
    }
    const k = findKept(ctx.home, id);
    if (!process.stdin.isTTY)
      throw new UsageError('kiln sandbox shell needs a terminal, but stdin is not one', 'run it from a terminal');
    if (!k.mounted)
      throw new UsageError(
        `sandbox ${k.id} is not mounted any more (the machine restarted?)`,
        `remove it: kiln sandbox rm ${k.id}`,
      );
    if (k.command !== undefined)
      ctx.out(
        `kiln: ${k.origin} ${k.ok ? 'built' : `failed in phase ${k.phase ?? '?'}: ${k.reason ?? ''}`}\nkiln: the command that failed: ${k.command}`,
      );
    ctx.out(
      `kiln: a shell in sandbox ${k.id} (${values.root ? 'root' : 'the build user'}, ${k.cwd}); exit to leave it (it stays until \`kiln sandbox rm ${k.id}\`)`,
    );
    // As the build's steps ran: in the sandbox's user namespace when it has one.
    return openShell({
      ...keptShellRoot(k),
      env: k.env,
      cwd: k.cwd,
      binds: k.binds,
      label: k.origin,
      user: values.root ? 'root' : 'build',
      hostEnv: ctx.env,
    });
  }
  throw new UsageError(
    `kiln sandbox: say list, shell ID or rm ID${verb === undefined ? '' : ` (not "${positionals.join(' ')}")`}`,
    'see `kiln sandbox --help`',
  );
}
