/**
 * A bulk's event journal, `HOME/logs/BULK/events.jsonl` (one JSON event per line, appended by the bulk's process).
 * {@link JournalReader} reads it incrementally from a byte offset, keeping a partial last line for the next read,
 * so a follower in another process sees each event exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { JournalEvent } from './state.js';

/** The journal file of a bulk. */
export function journalPath(home: string, bulkId: number): string {
  return path.join(home, 'logs', String(bulkId), 'events.jsonl');
}

/** Parses one journal line; null for a line that is not an event (a torn write, garbage). */
export function parseEventLine(line: string): JournalEvent | null {
  if (line.trim() === '') return null;
  try {
    const v = JSON.parse(line) as { type?: unknown; t?: unknown };
    return typeof v === 'object' && v !== null && typeof v.type === 'string' && typeof v.t === 'number'
      ? (v as JournalEvent)
      : null;
  } catch {
    return null;
  }
}

/** Reads a journal from where it last stopped. */
export class JournalReader {
  private offset = 0;
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private readonly buf = Buffer.alloc(256 * 1024);

  constructor(/** The journal file. */ readonly file: string) {}

  /** Bytes consumed so far. */
  get position(): number {
    return this.offset;
  }

  /** Every complete event appended since the last call (none when the file does not exist yet). */
  readNew(): JournalEvent[] {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return [];
    }
    const out: JournalEvent[] = [];
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) {
        this.offset = 0;
        this.partial = '';
        this.decoder = new StringDecoder('utf8');
      } // truncated or replaced: start over
      // Bounded: at most size/buf.length reads.
      for (let guard = 0; this.offset < size && guard < 1 + size / this.buf.length; guard++) {
        const n = fs.readSync(fd, this.buf, 0, Math.min(this.buf.length, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + this.decoder.write(this.buf.subarray(0, n));
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const l of lines) {
          const e = parseEventLine(l);
          if (e) out.push(e);
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }
}

/** Every event of a bulk's journal (empty when it has none). */
export function readJournal(home: string, bulkId: number): JournalEvent[] {
  return new JournalReader(journalPath(home, bulkId)).readNew();
}
