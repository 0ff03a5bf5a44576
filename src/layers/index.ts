/** Dependency layers: installed build dependencies kept as read-only overlay layers (see layers.ts). */
export {
  layersRoot,
  requestKey,
  findLayer,
  layerStack,
  saveLayer,
  listLayers,
  layersInUse,
  evictLayers,
  dropJailLayers,
  readInstalled,
  shiftIds,
  type Layer,
  type LayerMeta,
  type SaveLayerInput,
} from './layers.js';
export { installedPackages, addedPackages } from './status.js';
