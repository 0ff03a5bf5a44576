/**
 * Logs over HTTP, always as `text/plain` (never HTML, `nosniff`; the one exception is a bulk's own `report.html`): `/logs/PATH` for anything under HOME/logs,
 * `/api/bulks/ID/ports/CAT/NAME/log` for one port's log, and `.../log/stream?from=BYTES` to tail a running port's
 * log by Server-Sent Events. Every path is resolved under HOME/logs and refused if it leaves it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BuildRow, Store } from '../store/index.js';
import { firstErrorLine } from '../report/index.js';
import { resolveUnder } from './files.js';
import { openSse, sseMessage } from './live.js';
import { fail, parseBulkId, parseOrigin } from './params.js';

/** Options of {@link logsPlugin}. */
export interface LogsPluginOptions {
  readonly home: string;
  readonly store: Store;
  /** Tail poll interval, ms (default 500). */
  readonly pollMs?: number;
}

/** First bytes scanned for the first error line (a failed log's error is rarely past this). */
const SCAN_BYTES = 16 * 1024 * 1024;
/** A tail starting at 0 sends at most this much of an existing log. */
const TAIL_FIRST = 1024 * 1024;

/** What the page needs to show a port's log: where, how long, and where it goes wrong. */
export function portLogInfo(home: string, bulkId: number, row: BuildRow | undefined) {
  if (!row?.log) return null;
  const r = resolveUnder(path.join(home, 'logs'), row.log);
  if (!r.ok) return { url: `/api/bulks/${bulkId}/ports/${row.origin}/log`, size: 0, firstErrorLine: null };
  let first: number | null = null;
  if (row.result === 'failed') {
    const fd = fs.openSync(r.file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(r.size, SCAN_BYTES));
      fs.readSync(fd, buf, 0, buf.length, 0);
      first = firstErrorLine(buf.toString('utf8'));
    } finally {
      fs.closeSync(fd);
    }
  }
  return {
    url: `/api/bulks/${bulkId}/ports/${row.origin}/log`,
    raw: `/logs/${row.log}`,
    size: r.size,
    firstErrorLine: first,
  };
}

function sendText(reply: FastifyReply, file: string, size: number): FastifyReply {
  return reply
    .type('text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .header('content-length', size)
    .header('cache-control', 'no-cache')
    .send(fs.createReadStream(file));
}

type PortReq = FastifyRequest<{ Params: { id: string; cat: string; name: string }; Querystring: { from?: string } }>;

/** Registers the log routes. */
export async function logsPlugin(app: FastifyInstance, o: LogsPluginOptions): Promise<void> {
  const root = path.join(o.home, 'logs');

  app.get('/logs/*', async (req: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    const rel = req.params['*'] ?? '';
    const r = resolveUnder(root, rel);
    if (!r.ok) return fail(reply, r.status, r.status === 400 ? 'bad path' : 'not found');
    // A bulk's report.html is kiln's own rendering (every value escaped, no script): the one HTML file served here,
    // under the same policy as /bulks/ID/report.html. Everything else stays text.
    if (/^[1-9][0-9]*\/report\.html$/.test(rel)) {
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(fs.createReadStream(r.file));
    }
    return sendText(reply, r.file, r.size);
  });

  /** The port's row and its resolved log, or a reply already sent. */
  const portLog = (req: PortReq, reply: FastifyReply): { row: BuildRow; file: string; size: number } | FastifyReply => {
    const id = parseBulkId(req.params.id);
    const origin = parseOrigin(req.params.cat, req.params.name);
    if (id === null || origin === null) return fail(reply, 400, 'bad bulk id or origin');
    if (!o.store.bulks.getBulk(id)) return fail(reply, 404, `no bulk ${id}`);
    const row = o.store.bulks.builds(id).find((b) => b.origin === origin);
    if (!row?.log) return fail(reply, 404, `bulk ${id} has no log for ${origin}`);
    const r = resolveUnder(root, row.log);
    if (!r.ok) return fail(reply, 404, `the log of ${origin} in bulk ${id} is missing`);
    return { row, file: r.file, size: r.size };
  };

  app.get('/api/bulks/:id/ports/:cat/:name/log', async (req: PortReq, reply) => {
    const l = portLog(req, reply);
    if ('sent' in l) return l;
    return sendText(reply, l.file, l.size);
  });

  app.get('/api/bulks/:id/ports/:cat/:name/log/stream', async (req: PortReq, reply) => {
    const l = portLog(req, reply);
    if ('sent' in l) return l;
    const id = Number(req.params.id);
    const origin = l.row.origin;
    reply.hijack();
    const res = reply.raw;
    openSse(res);
    let offset = Math.max(0, Number(req.query.from) || 0);
    if (offset === 0 && l.size > TAIL_FIRST) offset = l.size - TAIL_FIRST;
    const buf = Buffer.alloc(256 * 1024);
    let closed = false;
    let lastRowCheck = 0;
    const decoder = new TextDecoder('utf-8');
    const send = (): void => {
      if (closed) return;
      let size: number;
      try {
        size = fs.statSync(l.file).size;
      } catch {
        return;
      }
      if (size < offset) offset = 0;
      let fd: number | undefined;
      try {
        fd = fs.openSync(l.file, 'r');
        for (let guard = 0; offset < size && guard < 64 && res.writableLength < 4 * 1024 * 1024; guard++) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
          if (n <= 0) break;
          offset += n;
          res.write(
            sseMessage('log', JSON.stringify({ text: decoder.decode(buf.subarray(0, n), { stream: true }), offset })),
          );
        }
      } catch {
        /* the log went away: the row check ends the stream */
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
      if (Date.now() - lastRowCheck > 1000) {
        lastRowCheck = Date.now();
        const row = o.store.bulks.builds(id).find((b) => b.origin === origin);
        if (row?.result !== 'running' && offset >= size) {
          res.write(sseMessage('end', JSON.stringify({ result: row?.result ?? null, offset })));
          stop();
          res.end();
        }
      }
    };
    let watcher: fs.FSWatcher | undefined;
    try {
      watcher = fs.watch(l.file, () => send());
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher = undefined;
    }
    const timer = setInterval(send, o.pollMs ?? 500);
    const stop = (): void => {
      closed = true;
      clearInterval(timer);
      watcher?.close();
    };
    res.on('close', stop);
    send();
    return reply;
  });
}
