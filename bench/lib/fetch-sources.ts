// Measures Debian's source index: download + decompress (first time), the If-Modified-Since check (second time),
// the parse of every stanza, and sha256 lookups. Usage: npx tsx bench/lib/fetch-sources.ts [RELEASE] [HOME]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostMirror, loadSourcesIndex, parseSources, updateSourcesIndex } from '../../src/debian/index.js';

async function main(): Promise<void> {
  const release = process.argv[2] ?? 'bookworm';
  const own = process.argv[3] === undefined;
  const home = process.argv[3] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-sources-'));
  try {
    const mirror = hostMirror();
    let t = performance.now();
    const first = await updateSourcesIndex({ home, mirror, release, refresh: 'always' });
    console.log(
      `index ${release}: ${first.changed ? 'downloaded + decompressed' : 'checked (unchanged)'} in ${(performance.now() - t).toFixed(0)} ms`,
    );
    t = performance.now();
    await updateSourcesIndex({ home, mirror, release, refresh: 'always' });
    console.log(`refresh check (release file, If-Modified-Since): ${(performance.now() - t).toFixed(0)} ms`);
    const text = fs.readFileSync(first.path, 'utf8');
    const runs: number[] = [];
    let count = 0;
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      count = parseSources(text).length;
      runs.push(performance.now() - t);
    }
    console.log(
      `parse: ${count} stanzas, ${(text.length / 1e6).toFixed(1)} MB, best of 3 ${Math.min(...runs).toFixed(0)} ms`,
    );
    const index = await loadSourcesIndex({ home, mirror, release });
    const shas = index.packages.flatMap((p) => p.files.map((f) => f.sha256));
    t = performance.now();
    let hits = 0;
    for (const s of shas) if (index.bySha256(s)) hits++;
    console.log(
      `bySha256: ${hits}/${shas.length} lookups (first builds the map) in ${(performance.now() - t).toFixed(0)} ms`,
    );
  } finally {
    if (own) fs.rmSync(home, { recursive: true, force: true });
  }
}
await main();
