/**
 * Where an origin is among the source packages of a `--debian` layer (`registry.ts` imports this module only when a
 * command asks: `loadArchiveLookup`), so that a tree of recipes never loads the debian module.
 */
import { debianOrigin, readTreeIndex } from '../debian/index.js';
import type { PortSource } from './registry.js';
import type { TreeLayer } from './ref.js';

/** The archive's source package at `origin` in a `--debian` layer's index, if any. */
export function archiveSource(layer: TreeLayer, origin: string): PortSource['debian'] {
  const ix = readTreeIndex(layer.debian!.index, layer.name);
  const name = origin.slice(origin.indexOf('/') + 1);
  const i = ix.pkg.indexOf(name);
  if (i < 0 || debianOrigin({ section: ix.section[i]!, package: name }) !== origin) return undefined;
  return { package: name, version: ix.version[i]!, binaries: ix.binaries[i] === '' ? [] : ix.binaries[i]!.split(',') };
}
