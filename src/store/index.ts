/** The state database (`HOME/kiln.db`): the only module that talks to SQLite. */
export { openStore, Store, DB_FILE } from './store.js';
export type { OpenStoreOptions } from './store.js';
export { MIGRATIONS } from './migrations.js';
export type { Migration } from './migrations.js';
export type { TreeSpec, OverlayLayerSpec, TreeRecord, OptionRow, JailRecord, JailInput } from './types.js';
export { BulkRecords } from './bulks.js';
export type { BulkRow, BulkStatus, BuildRow, BuildResultKind, BuildUpdate, PackageRow } from './bulks.js';
export { DebIndex } from './debindex.js';
export type { DebStanza, DebFileKey } from './debindex.js';
