/**
 * Generates many small, valid `.deb`s fast, in-process (ar + ustar + xz, as dpkg-deb lays them out), for
 * bench/repo: dpkg-deb --build takes ~20 ms each, too slow for 10,000.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const { xz } = createRequire(import.meta.url)('@napi-rs/lzma') as { xz: { compressSync(b: Uint8Array): Buffer } };

function tarHeader(name: string, size: number, type: '0' | '5', mode: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'latin1');
  h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(`${(1700000000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function tar(entries: { name: string; data?: Buffer; mode: number }[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e.name, e.data?.length ?? 0, e.data ? '0' : '5', e.mode));
    if (e.data) {
      parts.push(e.data);
      parts.push(Buffer.alloc((512 - (e.data.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function arMember(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(60, ' ');
  h.write(name, 0, 'latin1');
  h.write('1700000000', 16, 'latin1');
  h.write('0', 28, 'latin1');
  h.write('0', 34, 'latin1');
  h.write('100644', 40, 'latin1');
  h.write(String(data.length), 48, 'latin1');
  h.write('`\n', 58, 'latin1');
  return Buffer.concat([h, data, data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0)]);
}

/** One `.deb`: package `name` version `version`, a shell script `/usr/bin/NAME`. */
export function makeDebBytes(name: string, version: string, arch = 'amd64'): Buffer {
  const control = Buffer.from(
    `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: kiln bench <kiln@localhost>\n` +
      `Installed-Size: 1\nDepends: libc6 (>= 2.36)\nSection: misc\nPriority: optional\nHomepage: https://example.invalid/${name}\n` +
      `Description: generated package ${name}\n A package made by bench/repo to measure index generation.\n`,
  );
  const script = Buffer.from(`#!/bin/sh\necho ${name} ${version}\n`);
  const ctl = tar([
    { name: './', mode: 0o755 },
    { name: './control', data: control, mode: 0o644 },
  ]);
  const data = tar([
    { name: './', mode: 0o755 },
    { name: './usr/', mode: 0o755 },
    { name: './usr/bin/', mode: 0o755 },
    { name: `./usr/bin/${name}`, data: script, mode: 0o755 },
  ]);
  return Buffer.concat([
    Buffer.from('!<arch>\n'),
    arMember('debian-binary', Buffer.from('2.0\n')),
    arMember('control.tar.xz', xz.compressSync(ctl)),
    arMember('data.tar.xz', xz.compressSync(data)),
  ]);
}

/** Writes `n` generated `.deb`s under `dir` (kept between runs: made once per `dir`). Returns their paths. */
export function generateDebs(dir: string, n: number): string[] {
  const done = path.join(dir, '.complete');
  const paths = Array.from({ length: n }, (_, i) => path.join(dir, `benchpkg${i}_1.0-k1_amd64.deb`));
  if (fs.existsSync(done)) return paths;
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(paths[i]!, makeDebBytes(`benchpkg${i}`, '1.0-k1'));
  fs.writeFileSync(done, '');
  return paths;
}
