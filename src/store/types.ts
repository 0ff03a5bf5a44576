/** Row types of the state database. */

/** How a registered tree is made. Stored as JSON in `trees.spec`. */
export type TreeSpec =
  /** A folder the user owns; kiln never writes or deletes it. */
  | { readonly kind: 'path'; readonly path: string }
  /** A git clone kiln made under `HOME/trees/NAME`. */
  | {
      readonly kind: 'git';
      readonly url: string;
      readonly branch: string;
      readonly dir: string;
      readonly commit?: string;
    }
  /** A stack of layers, lowest first: each a registered tree's name or an absolute folder. */
  | { readonly kind: 'overlay'; readonly layers: readonly OverlayLayerSpec[] }
  /**
   * A release of Debian's source archive: every source package is a port (`SECTION/SOURCE`). `dir`
   * (`HOME/trees/NAME`) holds the tree's index, made from the archive's `Sources` and `Packages`.
   */
  | {
      readonly kind: 'debian';
      readonly release: string;
      readonly component: string;
      readonly dir: string;
      readonly arches: readonly string[];
      readonly mirror?: string;
      /** false: the release's suite alone (no -updates, -security); default: all three. */
      readonly updates?: boolean;
    };

/** One layer of an overlay as registered: a tree name or a folder path (absolute). */
export type OverlayLayerSpec = { readonly tree: string } | { readonly path: string };

/** A registered tree. */
export interface TreeRecord {
  readonly name: string;
  readonly spec: TreeSpec;
  /** ISO 8601. */
  readonly created: string;
  /** ISO 8601, last add or update. */
  readonly updated: string;
}

/** One stored option choice. */
export interface OptionRow {
  readonly origin: string;
  readonly option: string;
  readonly value: boolean;
}

/** A jail as registered by the jail module. */
export interface JailRecord {
  readonly name: string;
  /** Debian release (`bookworm`). */
  readonly release: string;
  /** Debian architecture (`amd64`). */
  readonly arch: string;
  /** Mirror URL it was made from. */
  readonly mirror: string;
  /** Absolute folder of its root. */
  readonly path: string;
  /** The jail's identity hash (enters every port's build identity). */
  readonly identity: string;
  /** Hash of its package manifest. */
  readonly manifestHash: string;
  /** ISO 8601. */
  readonly created: string;
  /** ISO 8601. */
  readonly updated: string;
}

/** What {@link JailRecord} the caller gives; the store fills in the times. */
export type JailInput = Omit<JailRecord, 'created' | 'updated'>;
