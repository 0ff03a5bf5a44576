/**
 * The JSON API of the page (every page is drawn from it): bulks, one bulk's full state and its live stream, one
 * port of a bulk, one port's history across bulks, and the reports.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BulkRow, Store } from '../store/index.js';
import {
  loadBulkState,
  qaOf,
  readReport,
  renderReportHtml,
  reportOf,
  shownStatus,
  snapshot,
  type BulkState,
} from '../report/index.js';
import { readQaReport } from '../qa/index.js';
import path from 'node:path';
import type { LiveHub } from './live.js';
import { fail, parseBulkId, parseOrigin } from './params.js';
import { portLogInfo } from './logs-plugin.js';

/** Options of {@link apiPlugin}. */
export interface ApiPluginOptions {
  readonly home: string;
  readonly store: Store;
  readonly hub: LiveHub;
}

type IdReq = FastifyRequest<{ Params: { id: string } }>;
type PortReq = FastifyRequest<{ Params: { id: string; cat: string; name: string } }>;

/** One bulk in the list. */
export function bulkSummary(b: BulkRow, live?: BulkState) {
  const end = b.finished ? Date.parse(b.finished) : Date.now();
  return {
    id: b.id,
    jail: b.jail,
    tree: b.tree,
    status: live?.status ?? shownStatus(b),
    builders: b.builders,
    started: b.started,
    ...(b.finished ? { finished: b.finished } : {}),
    durationS: Math.max(0, (end - Date.parse(b.started)) / 1000),
    counts: live?.counts ?? b.counts ?? null,
    ...(b.generation !== undefined ? { generation: b.generation } : {}),
    ...(live ? { etaS: live.etaS } : {}),
  };
}

/** Registers the API routes. */
export async function apiPlugin(app: FastifyInstance, o: ApiPluginOptions): Promise<void> {
  const { store, home } = o;

  app.get(
    '/api/bulks',
    async (req: FastifyRequest<{ Querystring: { jail?: string; tree?: string; limit?: string } }>) => {
      const q = req.query;
      const limit = Math.min(500, Math.max(1, Number(q.limit) || 100));
      const bulks = store.bulks.listBulks({
        ...(q.jail ? { jail: q.jail } : {}),
        ...(q.tree ? { tree: q.tree } : {}),
        limit,
      });
      return bulks.map((b) =>
        bulkSummary(b, b.status === 'running' ? (o.hub.peek(b.id) ?? loadBulkState(store, home, b.id)) : undefined),
      );
    },
  );

  app.get('/api/bulks/:id', async (req: IdReq, reply) => {
    const id = parseBulkId(req.params.id);
    if (id === null) return fail(reply, 400, 'bad bulk id');
    const s = o.hub.peek(id) ?? loadBulkState(store, home, id);
    if (!s) return fail(reply, 404, `no bulk ${id}`);
    return snapshot(s);
  });

  app.get('/api/bulks/:id/events', async (req: IdReq, reply) => {
    const id = parseBulkId(req.params.id);
    if (id === null) return fail(reply, 400, 'bad bulk id');
    if (!store.bulks.getBulk(id)) return fail(reply, 404, `no bulk ${id}`);
    reply.hijack();
    o.hub.attach(id, reply.raw);
    return reply;
  });

  app.get('/api/bulks/:id/report.json', async (req: IdReq, reply) => {
    const id = parseBulkId(req.params.id);
    if (id === null) return fail(reply, 400, 'bad bulk id');
    const written = readReport(home, id);
    if (written) return written;
    const s = loadBulkState(store, home, id);
    return s ? reportOf(s, home) : fail(reply, 404, `no bulk ${id}`);
  });

  // The HTML report is kiln's own rendering (every value escaped), the only HTML served from a bulk.
  app.get('/bulks/:id/report.html', async (req: IdReq, reply) => {
    const id = parseBulkId(req.params.id);
    if (id === null) return fail(reply, 400, 'bad bulk id');
    const s = loadBulkState(store, home, id);
    if (!s) return fail(reply, 404, `no bulk ${id}`);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(renderReportHtml(readReport(home, id) ?? reportOf(s, home)));
  });

  // report.html's log links are relative (`misc_a.log`, `../3/misc_b.log`), so that a copied logs folder works: from
  // /bulks/ID/report.html they land here and go on to the log under /logs.
  app.get('/bulks/:id/:file', async (req: FastifyRequest<{ Params: { id: string; file: string } }>, reply) => {
    const id = parseBulkId(req.params.id);
    if (id === null || !/^[A-Za-z0-9][A-Za-z0-9._+-]*\.log$/.test(req.params.file))
      return fail(reply, 404, 'not found');
    return reply.redirect(`/logs/${id}/${encodeURIComponent(req.params.file)}`);
  });

  app.get('/api/bulks/:id/ports/:cat/:name', async (req: PortReq, reply) => {
    const id = parseBulkId(req.params.id);
    const origin = parseOrigin(req.params.cat, req.params.name);
    if (id === null || origin === null) return fail(reply, 400, 'bad bulk id or origin');
    const s = loadBulkState(store, home, id);
    if (!s) return fail(reply, 404, `no bulk ${id}`);
    const port = s.ports.get(origin);
    if (!port) return fail(reply, 404, `bulk ${id} has no port ${origin}`);
    const row = store.bulks.builds(id).find((r) => r.origin === origin);
    const qa = row?.log ? (readQaReport(path.join(home, 'logs', row.log)) ?? null) : null;
    return {
      bulk: { id: s.id, jail: s.jail, tree: s.tree, status: s.status },
      port,
      row: row ?? null,
      log: portLogInfo(home, id, row),
      qa,
    };
  });

  // QA per port of a bulk (lintian counts, new errors, install test), for the page's lists.
  app.get('/api/bulks/:id/qa', async (req: IdReq, reply) => {
    const id = parseBulkId(req.params.id);
    if (id === null) return fail(reply, 400, 'bad bulk id');
    const s = loadBulkState(store, home, id);
    return s ? qaOf(home, s) : fail(reply, 404, `no bulk ${id}`);
  });

  app.get('/api/ports/:cat/:name', async (req: FastifyRequest<{ Params: { cat: string; name: string } }>, reply) => {
    const origin = parseOrigin(req.params.cat, req.params.name);
    if (origin === null) return fail(reply, 400, 'bad origin');
    const rows = store.bulks.history(origin, 100);
    const bulks = new Map<number, BulkRow | undefined>();
    for (const r of rows) if (!bulks.has(r.bulkId)) bulks.set(r.bulkId, store.bulks.getBulk(r.bulkId));
    const pairs = new Set(
      [...bulks.values()].filter((b): b is BulkRow => b !== undefined).map((b) => `${b.jail}\n${b.tree}`),
    );
    const packages = [...pairs].flatMap((p) => {
      const [jail, tree] = p.split('\n') as [string, string];
      return store.bulks.packages(jail, tree).filter((x) => x.origin === origin);
    });
    if (rows.length === 0 && packages.length === 0) return fail(reply, 404, `no builds of ${origin}`);
    return {
      origin,
      history: rows.map((r) => {
        const b = bulks.get(r.bulkId);
        return { ...r, jail: b?.jail, tree: b?.tree, bulkStarted: b?.started, logUrl: r.log ? `/logs/${r.log}` : null };
      }),
      packages,
    };
  });
}
