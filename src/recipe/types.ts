/** Types shared by everything that handles loaded ports. */
import type { Recipe } from './schema.js';

/** A port as found in a tree: its recipe plus where it came from. */
export interface Port {
  /** `CATEGORY/NAME`. */
  readonly origin: string;
  /** Absolute folder of the port. */
  readonly dir: string;
  /** Absolute path of its port.yaml. */
  readonly path: string;
  /** Name of the tree layer it came from (for overlays), or the tree's name. */
  readonly layer: string;
  /** The .deb Package: name (`recipe.name` or NAME of the origin). */
  readonly pkgname: string;
  /** The validated recipe. */
  readonly recipe: Recipe;
  /** sha256 (hex) of the recipe file's bytes followed by each patch's name and bytes, in order. */
  readonly contentHash: string;
}
