/**
 * Worker thread of {@link ingestAll} (`scan.ts`): reads the `.deb`s it is sent, one message per file
 * (`{id, file, copyTo}`), and posts back `{id, result}` ({@link ingestDeb}).
 */
import { parentPort } from 'node:worker_threads';
import { ingestDeb } from './ingest.js';

parentPort?.on('message', (m: { id: number; file: string; copyTo: string | null }) => {
  parentPort!.postMessage({ id: m.id, result: ingestDeb(m.file, m.copyTo) });
});
