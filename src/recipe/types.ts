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
  /**
   * For ports built from a Debian source package (`build.system: debian`: the ports of a `--debian` tree, and
   * overlay recipes over them): the archive's source package. Its `version` is the archive's; the `.deb`s get
   * `VERSION+kilnREVISION`. Absent for every other port.
   */
  readonly debian?: DebianPortSource;
}

/** One file of a Debian source package (the `.dsc` and what it names), as the archive's `Sources` lists it. */
export interface DebianPortFile {
  /** File name in the pool directory, e.g. `hello_2.10-3.dsc`. */
  readonly name: string;
  /** sha256, 64 lower-case hex digits. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/** A Debian source package as a port builds it (a structural subset of the `debian` module's `SourcePackage`). */
export interface DebianPortSource {
  /** Source package name. */
  readonly package: string;
  /** Archive version, epoch and Debian revision included (`1:2.3-4`). */
  readonly version: string;
  /** Pool directory relative to the mirror root (`pool/main/h/hello`). */
  readonly directory: string;
  /** The `.dsc` and every file it names. */
  readonly files: readonly DebianPortFile[];
  /** Binary packages it builds (`Binary:`). */
  readonly binary: readonly string[];
  /** Raw `Build-Depends:`, `Build-Depends-Arch:`, `Build-Depends-Indep:` texts (empty when absent). */
  readonly buildDepends: string;
  readonly buildDependsArch: string;
  readonly buildDependsIndep: string;
}
