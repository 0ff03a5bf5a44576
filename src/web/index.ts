/**
 * The live web page's files (`static/`: one HTML shell, one stylesheet, one script; no framework, no build step).
 * Only the names in {@link WEB_ASSETS} are ever served: a request can name an asset, never a path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the page's files; the same from `src/web` (tsx) and from `dist/web` (compiled). */
export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/web/static');

/** Served asset names and their content types. */
export const WEB_ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

const cache = new Map<string, Buffer>();

/** One asset's bytes and type, or undefined for a name not in {@link WEB_ASSETS}. Cached after the first read. */
export function webAsset(name: string): { readonly body: Buffer; readonly type: string } | undefined {
  const type = Object.hasOwn(WEB_ASSETS, name) ? WEB_ASSETS[name] : undefined;
  if (!type) return undefined;
  let body = cache.get(name);
  if (!body) {
    body = fs.readFileSync(path.join(WEB_DIR, name));
    cache.set(name, body);
  }
  return { body, type };
}
