/**
 * bench/image: `kiln image -t tar` of one kiln-built program, cold (the base root made with mmdebstrap into an
 * empty cache) and warm (the cached base reused), then warm after changing only the overlay and after adding a
 * package, with the phase times of each. Options: --type tar|squashfs|raw (default tar).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { kiln, testHome } from '../../src/bulk/testing.js';
import { writeHelloTree } from '../../src/image/testing.js';

const { values } = parseArgs({ options: { type: { type: 'string', default: 'tar' } } });
const home = await testHome('kiln-bench-image-');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-image-tree-'));
try {
  const { tree, list } = writeHelloTree(dir);
  // A second port, for the "one more package" run.
  const extra = path.join(tree, 'misc/kiln-extra');
  fs.mkdirSync(extra, { recursive: true });
  fs.writeFileSync(
    path.join(extra, 'port.yaml'),
    'version: "1.0"\nsummary: one more file\narch: all\nbuild:\n  system: script\n  script: |\n    install -D -m 644 /dev/null "$DESTDIR/usr/share/kiln-extra/empty"\n',
  );
  const list2 = path.join(dir, 'list2.txt');
  fs.writeFileSync(list2, `${fs.readFileSync(list, 'utf8')}misc/kiln-extra\n`);
  const b = await kiln(home, ['bulk', '-j', 'bookworm', '-p', tree, '-f', list2]);
  if (b.status !== 0) throw new Error(b.stdout + b.stderr);
  const overlay = path.join(dir, 'overlay');
  fs.mkdirSync(path.join(overlay, 'etc'), { recursive: true });
  console.log(
    `bench/image: kiln image -t ${values.type} of a kiln-built program, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  const image = async (label: string, l: string): Promise<void> => {
    const t0 = Date.now();
    const r = await kiln(
      home,
      [
        'image',
        '-j',
        'bookworm',
        '-p',
        tree,
        '-f',
        l,
        '-t',
        values.type!,
        '-o',
        path.join(dir, `img.${values.type}`),
        '--overlay',
        overlay,
        '--json',
      ],
      { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } },
    );
    const wall = (Date.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as {
      bytes: number;
      base: { reused: boolean };
      phases: { name: string; seconds: number }[];
    };
    console.log(
      `${label.padEnd(28)} ${wall.toFixed(1).padStart(6)} s  base ${out.base.reused ? 'reused' : 'made  '}  ${(out.bytes / 1048576).toFixed(0)} MiB  ` +
        out.phases.map((p) => `${p.name} ${p.seconds.toFixed(1)}`).join(', '),
    );
  };
  await image('cold (empty base cache)', list);
  await image('warm (same inputs)', list);
  fs.writeFileSync(path.join(overlay, 'etc/motd'), `changed ${Date.now()}\n`);
  await image('warm (overlay changed)', list);
  await image('warm (one more package)', list2);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
}
