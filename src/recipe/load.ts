/**
 * Loading a port from disk: `DIR/port.yaml` and its patches. The only file of the recipe module that
 * touches the disk; everything it reads goes through the pure {@link parseRecipe}. Problems (a missing
 * file, an unreadable patch) are returned, never thrown, so a tree scan reports them all at once.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import fs from 'node:fs';
import nodePath from 'node:path';
import type { Problem } from '../util/errors.js';
import { decodeUtf8 } from '../util/yamlpos.js';
import { locateField, parseRecipe, type RecipeParse } from './parse.js';
import { parseRecipeLazy } from './lazy.js';
import type { Port } from './types.js';

/** What {@link loadPort} returns: the port (when valid) and every problem found. */
export interface PortLoad {
  /** The loaded port; absent when there are problems. */
  readonly port?: Port;
  /** Every problem of the recipe and its patches. */
  readonly problems: Problem[];
}

/** What {@link loadPortText} returns: a {@link PortLoad} plus the recipe's text when the port is valid. */
export interface PortLoadText extends PortLoad {
  /** The recipe file decoded (present with `port`). */
  readonly text?: string;
}

/** Why a file could not be read, in words. */
function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES') return 'is not readable (permission denied)';
  if (code === 'EISDIR') return 'is a folder, not a file';
  return `cannot be read (${code ?? String(e)})`;
}

/** Reused read buffer (grown on demand): a scan reads ~35,000 small files, one at a time per thread. */
let readBuf = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads a whole file with open + read + close into the shared buffer, skipping the `fstat` (and the fresh
 * buffer) of `readFileSync`. The bytes returned are valid until the next call.
 */
function readShared(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    let n = 0;
    for (let guard = 0; guard < 1 << 20; guard++) {
      if (n === readBuf.length) {
        const bigger = Buffer.allocUnsafe(readBuf.length * 2);
        readBuf.copy(bigger, 0, 0, n);
        readBuf = bigger;
      }
      const got = fs.readSync(fd, readBuf, n, readBuf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return readBuf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Loads the port in folder `dir` whose origin is `origin` (`CATEGORY/NAME`), from tree layer `layer`.
 * `Port.contentHash` is the sha256 (hex) of the recipe's bytes, then for each patch its name, a NUL
 * byte and its bytes, in recipe order. A missing patch is a problem located at `patches[i]`.
 */
export function loadPort(dir: string, origin: string, layer: string): PortLoad {
  const { port, problems } = loadPortText(dir, origin, layer);
  return port ? { port, problems } : { problems };
}

/** {@link loadPort}, also returning the recipe's text (for a {@link lazyRecipe} elsewhere). */
export function loadPortText(dir: string, origin: string, layer: string): PortLoadText {
  return loadWith(dir, origin, layer, parseRecipe);
}

/**
 * {@link loadPortText} whose port holds a lazy recipe (`parseRecipeLazy`): validated whole, but `sources`,
 * `build` and `install` are built from the text only when first read. What a tree scan keeps per port.
 */
export function loadPortLazy(dir: string, origin: string, layer: string): PortLoadText {
  return loadWith(dir, origin, layer, parseRecipeLazy);
}

function loadWith(dir: string, origin: string, layer: string, parse: (text: string, path: string, origin: string) => RecipeParse): PortLoadText {
  const absDir = nodePath.isAbsolute(dir) ? dir : nodePath.resolve(dir);
  const file = `${absDir}${nodePath.sep}port.yaml`;
  let bytes: Buffer;
  try {
    bytes = readShared(file);
  } catch (e) {
    return { problems: [{ path: file, line: 1, column: 1, field: '-', message: `port.yaml ${readFailure(e)}` }] };
  }
  const dec = decodeUtf8(bytes, file);
  if (dec.text === undefined) return { problems: [dec.problem!] };
  const text = dec.text;
  const { recipe, problems } = parse(text, file, origin);
  if (!recipe) return { problems };
  if (recipe.patches.length === 0) {
    const pkgname = recipe.name ?? origin.slice(origin.indexOf('/') + 1);
    return { port: { origin, dir: absDir, path: file, layer, pkgname, recipe, contentHash: oneShotHash('sha256', bytes) }, problems, text };
  }
  const hash = createHash('sha256').update(bytes);
  recipe.patches.forEach((name, i) => {
    try {
      const patch = fs.readFileSync(nodePath.join(absDir, name));
      hash.update(name).update('\0').update(patch);
    } catch (e) {
      const at = locateField(file, text, ['patches', i]);
      problems.push({ path: file, ...at, field: `patches[${i}]`, message: `patch file ${JSON.stringify(name)} ${readFailure(e)} in ${absDir}` });
    }
  });
  if (problems.length > 0) return { problems };
  const pkgname = recipe.name ?? origin.slice(origin.indexOf('/') + 1);
  const port: Port = { origin, dir: absDir, path: file, layer, pkgname, recipe, contentHash: hash.digest('hex') };
  return { port, problems, text };
}
