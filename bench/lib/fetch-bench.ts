/** bench/fetch: guarded download (address check, curl as nobody) vs in-process fetch(), per download. */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { AllowList, downloadToFile } from '../../src/fetch/index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { mib: { type: 'string', default: '1' }, n: { type: 'string', default: '20' } },
  });
  const n = Math.max(1, Math.min(1000, Number(values.n)));
  const body = Buffer.alloc(Math.max(1, Number(values.mib)) * 1048576, 7);
  const server = http.createServer((_q, r) => r.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/file`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-fetch-bench-'));
  try {
    const allow = new AllowList(['127.0.0.1']);
    let t = Date.now();
    for (let i = 0; i < n; i++) {
      const r = await downloadToFile(url, path.join(dir, 'out'), { allow });
      if (!r.ok) throw new Error(r.reason);
    }
    const guarded = (Date.now() - t) / n;
    t = Date.now();
    for (let i = 0; i < n; i++) await (await fetch(url)).arrayBuffer();
    const plain = (Date.now() - t) / n;
    console.log(
      `host: ${os.cpus().length} cores, load ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}; ${n} downloads of ${body.length / 1048576} MiB from 127.0.0.1`,
    );
    console.log(
      `guarded (address check + curl as ${process.getuid?.() === 0 ? 'nobody via setpriv' : 'this user'}): ${guarded.toFixed(1)} ms each`,
    );
    console.log(`in-process fetch():                  ${plain.toFixed(1)} ms each`);
    console.log(`added per download:                  ${(guarded - plain).toFixed(1)} ms`);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
