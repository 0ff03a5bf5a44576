/** A bulk for people: its state (rows + event journal), report.json / report.html, and the post-bulk hooks. */
export {
  initialState,
  applyEvent,
  snapshot,
  countRows,
  type BulkState,
  type BulkSnapshot,
  type PortEntry,
  type PortResult,
  type JournalEvent,
  type QueueEvent,
} from './state.js';
export { journalPath, parseEventLine, readJournal, JournalReader } from './journal.js';
export {
  loadBulkState,
  reportOf,
  readReport,
  bulkLogDir,
  shownStatus,
  qaOf,
  REPORT_VERSION,
  type BulkReport,
  type PortQa,
} from './model.js';
export { renderReportHtml, escapeHtml, formatSeconds } from './html.js';
export {
  writeReports,
  runHooks,
  type WrittenReports,
  type PostBulkHooks,
  type HookResult,
  type RunHooksOptions,
} from './write.js';
export { firstErrorLine } from './errors-in-log.js';
