/**
 * Actions, registered only when `kiln serve --token` is given and each requiring `Authorization: Bearer TOKEN`:
 * start a bulk, cancel a running bulk (SIGTERM to its process, which tears its sandboxes down), retry a failed port
 * (a bulk of that one port). Bulks run as `kiln bulk` child processes, exactly as from a shell.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { run } from '../util/exec.js';
import type { Store } from '../store/index.js';
import { ownerAlive } from '../bulk/index.js';
import { fail, parseBulkId, parseOrigin } from './params.js';

/** Starts `kiln ARGS` in the background; resolves with its pid once spawned. */
export type KilnLauncher = (args: readonly string[]) => Promise<number>;

/** A launcher running `COMMAND... ARGS --home HOME` (COMMAND: how to run kiln, e.g. `[node, bin/kiln.js]`). */
export function kilnLauncher(command: readonly string[], home: string): KilnLauncher {
  return (args) =>
    new Promise((resolve, reject) => {
      const [cmd, ...pre] = command;
      if (!cmd) {
        reject(new Error('no kiln command'));
        return;
      }
      run(cmd, [...pre, ...args, '--home', home], { allowFailure: true, maxBuffer: 64 * 1024, onSpawn: resolve }).catch(
        reject,
      );
    });
}

/** Options of {@link actionsPlugin}. */
export interface ActionsPluginOptions {
  readonly store: Store;
  readonly token: string;
  readonly launch: KilnLauncher;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ORIGIN = /^[A-Za-z0-9][A-Za-z0-9._+-]*\/[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Body of `POST /api/bulks`. */
export const StartBulkSchema = z
  .object({
    /** Jail name. */
    jail: z.string().regex(NAME).describe('Jail name'),
    /** Registered tree name. */
    tree: z.string().regex(NAME).describe('Registered tree name'),
    /** Origins to build (else `all`). */
    origins: z.array(z.string().regex(ORIGIN)).max(10_000).optional().describe('Origins to build'),
    /** Every port of the tree. */
    all: z.boolean().optional().describe('Every port of the tree'),
    /** Builders (-J). */
    builders: z.number().int().min(1).max(1024).optional().describe('Builders (-J)'),
  })
  .strict();

function authorized(req: FastifyRequest, token: string): boolean {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer (.+)$/.exec(h);
  if (!m) return false;
  const a = crypto.createHash('sha256').update(m[1]!).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}

/** Registers the action routes (call only with a token). */
export async function actionsPlugin(app: FastifyInstance, o: ActionsPluginOptions): Promise<void> {
  if (o.token.length < 8) throw new Error('the action token must be at least 8 characters');
  app.addHook('onRequest', async (req, reply) => {
    if (!authorized(req, o.token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .type('text/plain')
        .send('this action needs Authorization: Bearer TOKEN\n');
    }
    return undefined;
  });

  const started = async (reply: FastifyReply, args: string[]): Promise<FastifyReply> => {
    const pid = await o.launch(args);
    return reply.code(202).send({ started: true, pid, command: ['kiln', ...args] });
  };

  app.post('/api/bulks', async (req, reply) => {
    const p = StartBulkSchema.safeParse(req.body ?? {});
    if (!p.success)
      return fail(
        reply,
        400,
        `bad request: ${p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const b = p.data;
    if (!b.all && (b.origins ?? []).length === 0) return fail(reply, 400, 'give origins or all: true');
    return started(reply, [
      'bulk',
      '-j',
      b.jail,
      '-p',
      b.tree,
      ...(b.builders ? ['-J', String(b.builders)] : []),
      ...(b.all ? ['-a'] : (b.origins ?? [])),
    ]);
  });

  app.post('/api/bulks/:id/cancel', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const id = parseBulkId(req.params.id);
    if (id === null) return fail(reply, 400, 'bad bulk id');
    const b = o.store.bulks.getBulk(id);
    if (!b) return fail(reply, 404, `no bulk ${id}`);
    if (b.status !== 'running' || !ownerAlive(b)) return fail(reply, 409, `bulk ${id} is not running`);
    process.kill(b.pid, 'SIGTERM');
    return reply.code(202).send({ cancelling: id, pid: b.pid });
  });

  app.post(
    '/api/bulks/:id/ports/:cat/:name/retry',
    async (req: FastifyRequest<{ Params: { id: string; cat: string; name: string } }>, reply) => {
      const id = parseBulkId(req.params.id);
      const origin = parseOrigin(req.params.cat, req.params.name);
      if (id === null || origin === null) return fail(reply, 400, 'bad bulk id or origin');
      const b = o.store.bulks.getBulk(id);
      if (!b) return fail(reply, 404, `no bulk ${id}`);
      const row = o.store.bulks.builds(id).find((r) => r.origin === origin);
      if (!row) return fail(reply, 404, `bulk ${id} has no port ${origin}`);
      if (row.result !== 'failed') return fail(reply, 409, `${origin} did not fail in bulk ${id}`);
      return started(reply, ['bulk', '-j', b.jail, '-p', b.tree, origin]);
    },
  );
}
