/**
 * `kiln worker --redis URL [--master URL] [--token T | --token-file F] [--slots N] [--arch A] [--name ID] [--apt-direct]`: a builder
 * on another host. It takes jobs of its architecture's queue, fetches what each build needs from the master by
 * content hash, builds in its own sandbox and hands the result back. Runs until SIGINT or SIGTERM.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import { loadConfig } from '../../config/index.js';
import { startWorker } from '../../dist/index.js';
import { KILN_VERSION } from '../version.js';

const HELP = `usage: kiln worker --redis URL [--master URL] [--token T | --token-file FILE] [--slots N] [--arch ARCH] [--name ID] [--apt-direct]

  Builds ports for a master (\`kiln bulk --redis URL\`) on this host. Jobs come from Redis (BullMQ), one queue per
  architecture; inputs (jail, distfiles, port folder, dependency .debs) come from the master over HTTP by content
  hash and are cached under --home; results go back to the master, which checks and publishes them.
  --redis URL       Redis shared with the master (default: kiln.yaml's redis:)
  --master URL      the master's endpoint (default: the URL each job names; set it when the master listens on 0.0.0.0)
  --token T         the shared token (default: $KILN_DIST_TOKEN); --token-file FILE reads it from a file
  --slots N         builds at once (default: the number of CPU cores divided by 2, at least 1)
  --arch ARCH       Debian architecture served (default: this host's)
  --name ID         worker id shown by the master and kiln serve (default: HOST-PID)
  --apt-direct      apt in the sandbox (depends.system) goes to the jail's archive itself; by default it goes
                    through the master's proxy, so this host needs no route but to the master and Redis
  KILN_DIST_LOCK_MS: BullMQ lock duration (default 30000): a dead worker's job goes back about this long after.`;

/** Handler of `kiln worker`. */
export async function workerCommand(argv: string[], ctx: CliContext): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    ctx.out(HELP);
    return 0;
  }
  const { values, positionals } = parseCommand('worker', argv, {
    redis: { type: 'string' },
    master: { type: 'string' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
    slots: { type: 'string' },
    arch: { type: 'string' },
    name: { type: 'string' },
    'apt-direct': { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError('kiln worker takes no arguments');
  const redisUrl = values.redis ?? loadConfig(ctx.home).redis;
  if (!redisUrl)
    throw new UsageError('kiln worker: give --redis URL (or redis: in kiln.yaml)', 'the same Redis the master uses');
  const token =
    values.token ??
    (values['token-file'] ? fs.readFileSync(values['token-file'], 'utf8').trim() : ctx.env.KILN_DIST_TOKEN);
  if (!token)
    throw new UsageError(
      'kiln worker: give --token, --token-file or KILN_DIST_TOKEN',
      "the master's token is in its HOME/dist/token",
    );
  if (values.slots !== undefined && !/^[1-9][0-9]{0,2}$/.test(values.slots))
    throw new UsageError(`kiln worker: --slots must be 1 to 999, not "${values.slots}"`);
  if (values.master !== undefined && !/^https?:\/\/\S+$/.test(values.master))
    throw new UsageError(`kiln worker: --master must be an http(s) URL, not "${values.master}"`);
  const lockMs = ctx.env.KILN_DIST_LOCK_MS ? Number(ctx.env.KILN_DIST_LOCK_MS) : undefined;
  // SIGINT while Redis is still unreachable stops the wait (the retry loop says what it is doing meanwhile).
  const early = new AbortController();
  const stopEarly = (): void => early.abort();
  process.once('SIGINT', stopEarly);
  process.once('SIGTERM', stopEarly);
  let w: Awaited<ReturnType<typeof startWorker>>;
  try {
    w = await startWorker({
      signal: early.signal,
      redisUrl,
      home: ctx.home,
      token,
      version: KILN_VERSION,
      slots: values.slots ? Number(values.slots) : Math.max(1, Math.floor(os.availableParallelism() / 2)),
      ...(values.master ? { master: values.master.replace(/\/+$/, '') } : {}),
      ...(values['apt-direct'] ? { apt: 'direct' as const } : {}),
      ...(values.arch ? { arch: values.arch } : {}),
      ...(values.name ? { id: values.name } : {}),
      ...(lockMs !== undefined && Number.isFinite(lockMs) && lockMs >= 1000 ? { lockMs } : {}),
      log: (l) => ctx.out(`[${new Date().toISOString()}] ${l}`),
    });
  } catch (e) {
    if (early.signal.aborted) {
      ctx.out(`[${new Date().toISOString()}] worker: stopped while waiting for Redis`);
      return 1;
    }
    throw e;
  } finally {
    process.off('SIGINT', stopEarly);
    process.off('SIGTERM', stopEarly);
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  ctx.out(`[${new Date().toISOString()}] worker ${w.id}: stopping`);
  await w.close();
  return 0;
}
