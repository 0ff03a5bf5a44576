/**
 * The fastify plugin of distributed builds. Always: `GET /api/workers` (the worker registry: host, arch, slots,
 * current ports, last seen, out of rotation). On a master (a running `kiln bulk --redis`), token-authenticated:
 * `GET /dist/blobs/SHA` (only files the master registered), `PUT /dist/uploads/SHA` (a worker's `.deb` or log,
 * kept only if its bytes hash to SHA) and `POST /dist/results/KEY` (a build's outcome; the master checks it and
 * takes the first copy only), and `GET http://ARCHIVE/...` as apt's proxy for the jail's own archives (apt-proxy.ts).
 * Nothing here publishes: results go to the bulk, which alone writes the repository.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { loadConfig } from '../config/index.js';
import {
  isJobKey,
  isSha256,
  PROTOCOL_VERSION,
  type DistResult,
  type ResultAnswer,
  type WorkerView,
} from './protocol.js';
import { connectRedis, WorkerRegistry } from './registry.js';
import { APT_PROXY_PREFIX, proxyPassword, registerAptProxy } from './apt-proxy.js';

/** What a master lends the plugin. */
export interface MasterEndpoints {
  /** The shared token workers must present. */
  readonly token: string;
  /** Folder uploads are written to, named by their sha256. */
  readonly uploadsDir: string;
  /** The file served under `sha256`, if the master registered one. */
  blob(sha256: string): string | undefined;
  /** Takes a result (hashes, identity and names are checked by the master). */
  result(body: DistResult): Promise<ResultAnswer>;
  /** `http://` archives of the jail's apt sources the master proxies for workers' apt (none: no proxy). */
  readonly aptUpstreams?: readonly string[];
}

/** Options of {@link distPlugin}. */
export interface DistPluginOptions {
  /** kiln's home (its kiln.yaml's `redis:` is used when `redisUrl` is not given). */
  readonly home: string;
  /** Redis URL of the worker registry. */
  readonly redisUrl?: string;
  /** Present on a running master: serves blobs and takes uploads and results. */
  readonly master?: MasterEndpoints;
}

const BlobRefSchema = z.object({
  /** sha256 (hex). */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .describe('sha256 of the bytes'),
  /** File name. */
  name: z.string().min(1).max(255).describe('file name'),
  /** Bytes. */
  size: z.number().int().min(0).describe('size in bytes'),
});

/** The result body a worker posts. */
export const DistResultSchema = z.object({
  /** Protocol version. */
  v: z.literal(PROTOCOL_VERSION).describe('protocol version'),
  /** Worker id. */
  worker: z.string().min(1).max(200).describe('the worker id'),
  /** Job key. */
  key: z.string().describe('job key'),
  /** Built? */
  ok: z.boolean().describe('whether the build succeeded'),
  /** Uploaded debs. */
  debs: z.array(BlobRefSchema).max(64).describe('uploaded .debs'),
  /** Uploaded log. */
  log: BlobRefSchema.optional().describe('uploaded build log'),
  /** Inline log. */
  logText: z
    .string()
    .max(4 * 512 * 1024)
    .optional()
    .describe('the build log inline (small logs)'),
  /** Worker-side timing. */
  steps: z
    .object({
      takenAt: z.number(),
      inputsMs: z.number().min(0),
      buildMs: z.number().min(0).optional(),
      uploadMs: z.number().min(0),
    })
    .optional()
    .describe("where the worker spent the job's time outside the build"),
  /** Failed phase. */
  phase: z.string().max(100).optional().describe('phase a failure died in'),
  /** Failure kind. */
  failure: z
    .enum(['fetch', 'checksum', 'depends', 'patch', 'build', 'test', 'limit', 'package', 'sandbox', 'aborted'])
    .optional()
    .describe('failure kind'),
  /** Limit hit. */
  limit: z.enum(['wall', 'cpu', 'no-output', 'memory', 'nproc']).optional().describe('limit hit'),
  /** Why it failed. */
  reason: z.string().max(10_000).optional().describe('one line: why it failed'),
  /** Phase timings. */
  timings: z
    .array(z.object({ name: z.string(), startedAt: z.number(), wallMs: z.number(), ok: z.boolean() }))
    .max(100)
    .describe('phase timings'),
  /** Wall ms. */
  wallMs: z.number().min(0).describe('wall time, ms'),
  /** CPU ms. */
  cpuMs: z.number().min(0).describe('CPU time, ms'),
});

function sameToken(given: string | undefined, want: string): boolean {
  if (given === undefined || want === '') return false;
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(want).digest();
  return crypto.timingSafeEqual(a, b);
}

/** Registers the routes (see the module comment). */
export async function distPlugin(app: FastifyInstance, opts: DistPluginOptions): Promise<void> {
  let registry: { redis: ReturnType<typeof connectRedis>; reg: WorkerRegistry } | undefined;
  const registryUrl = (): string | undefined => {
    if (opts.redisUrl) return opts.redisUrl;
    try {
      return loadConfig(opts.home).redis;
    } catch {
      return undefined;
    }
  };
  app.addHook('onClose', async () => {
    registry?.redis.disconnect();
  });

  app.get('/api/workers', async (_req, reply) => {
    const url = registryUrl();
    if (!url) return { redis: null, workers: [] as WorkerView[] };
    if (!registry) {
      const redis = connectRedis(url);
      redis.on('error', () => {
        /* shown as 503 below; ioredis reconnects */
      });
      registry = { redis, reg: new WorkerRegistry(redis) };
    }
    const reg = registry.reg;
    try {
      const workers = await Promise.race([
        reg.list(),
        new Promise<never>((_r, rej) =>
          setTimeout(() => rej(new Error('Redis did not answer within 3 s')), 3000).unref(),
        ),
      ]);
      return { redis: url.replace(/\/\/[^@/]*@/, '//***@'), workers };
    } catch (e) {
      return reply
        .code(503)
        .send({ error: `the worker registry is unreachable: ${e instanceof Error ? e.message : String(e)}` });
    }
  });

  const m = opts.master;
  if (!m) return;
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const h = req.headers.authorization;
      const proxied = req.url.startsWith(APT_PROXY_PREFIX);
      const given = proxied
        ? proxyPassword(req.headers['proxy-authorization'])
        : h?.startsWith('Bearer ')
          ? h.slice(7)
          : undefined;
      if (!sameToken(given, m.token)) {
        if (proxied)
          return reply
            .code(407)
            .header('proxy-authenticate', 'Basic realm="kiln"')
            .send({ error: 'the worker token is required as the proxy password' });
        return reply.code(401).send({ error: 'a valid worker token is required (Authorization: Bearer TOKEN)' });
      }
      return undefined;
    });

    if (m.aptUpstreams && m.aptUpstreams.length > 0) registerAptProxy(scope, m.aptUpstreams);

    scope.get<{ Params: { sha: string } }>('/dist/blobs/:sha', async (req, reply) => {
      const file = isSha256(req.params.sha) ? m.blob(req.params.sha) : undefined;
      if (!file || !fs.existsSync(file)) return reply.code(404).send({ error: 'no such blob on this master' });
      reply.header('content-type', 'application/octet-stream').header('content-length', fs.statSync(file).size);
      return reply.send(fs.createReadStream(file));
    });

    scope.put<{ Params: { sha: string } }>('/dist/uploads/:sha', { bodyLimit: 8 * 1024 ** 3 }, async (req, reply) => {
      const sha = req.params.sha;
      if (!isSha256(sha)) return reply.code(400).send({ error: 'the upload path must be a sha256' });
      const body = req.body as Readable | undefined;
      if (!body || typeof body.pipe !== 'function')
        return reply.code(415).send({ error: 'send the bytes as application/octet-stream' });
      fs.mkdirSync(m.uploadsDir, { recursive: true });
      const dest = path.join(m.uploadsDir, sha);
      const tmp = path.join(m.uploadsDir, `.tmp-${crypto.randomBytes(8).toString('hex')}`);
      const h = crypto.createHash('sha256');
      try {
        await pipeline(
          body,
          new Transform({
            transform(c: Buffer, _e, cb) {
              h.update(c);
              cb(null, c);
            },
          }),
          fs.createWriteStream(tmp),
        );
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        return reply.code(400).send({ error: `the upload broke off: ${e instanceof Error ? e.message : String(e)}` });
      }
      const got = h.digest('hex');
      if (got !== sha) {
        fs.rmSync(tmp, { force: true });
        return reply.code(400).send({ error: `the bytes hash to ${got}, not ${sha}` });
      }
      fs.renameSync(tmp, dest);
      return reply.code(204).send();
    });

    scope.post<{ Params: { key: string } }>(
      '/dist/results/:key',
      { bodyLimit: 4 * 1024 * 1024 },
      async (req, reply) => {
        const parsed = DistResultSchema.safeParse(req.body);
        if (!parsed.success || !isJobKey(req.params.key) || parsed.data.key !== req.params.key) {
          return reply.code(400).send({
            error: `invalid result: ${parsed.success ? 'the key does not match the path' : parsed.error.issues[0]?.message}`,
          });
        }
        const answer = await m.result(parsed.data as DistResult);
        return reply.code(200).send(answer);
      },
    );
  });
}
