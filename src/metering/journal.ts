// The local spend journal: every record is appended (written to the OS) before its answer completes,
// so a killed process loses nothing it answered. The records of one event-loop turn go in one write. Segments are closed by rotation, written
// to the database, then deleted; at start, segments left over are replayed (the ledger is idempotent).
import { close, closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SpendRecord } from './record.ts';

const SEGMENT = /^spend-(\d{16})\.ndjson$/;

/** The records of a closed segment (read by whoever writes them to the database). */
export function readSegment(file: string): SpendRecord[] {
  const out: SpendRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as SpendRecord);
    } catch {
      // a line cut by a crash mid-write: its request never completed
    }
  }
  return out;
}

export class Journal {
  private readonly dir: string;
  private fd: number;
  private seq: number;
  private dirty = false;
  /** Lines waiting for this turn's write, and the promise their callers wait on. */
  private pending: string[] = [];
  private batch: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | null = null;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    const existing = this.segments().map((f) => Number(SEGMENT.exec(f)![1]));
    this.seq = existing.length ? Math.max(...existing) + 1 : 1;
    this.fd = this.open();
  }

  private name(seq: number): string {
    return `spend-${String(seq).padStart(16, '0')}.ndjson`;
  }

  private open(): number {
    return openSync(join(this.dir, this.name(this.seq)), 'a');
  }

  private segments(): string[] {
    return readdirSync(this.dir).filter((f) => SEGMENT.test(f)).sort();
  }

  /** Resolves once the record is written to the OS, in one write with the others of this turn. */
  append(r: SpendRecord): Promise<void> {
    this.pending.push(`${JSON.stringify(r)}\n`);
    if (!this.batch) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      this.batch = { promise, resolve, reject };
      setImmediate(() => this.writePending());
    }
    return this.batch.promise;
  }

  private writePending(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    const text = this.pending.join('');
    this.pending = [];
    try {
      writeSync(this.fd, text);
      this.dirty = true;
      batch.resolve();
    } catch (err) {
      batch.reject(err as Error);
    }
  }

  /**
   * Starts a new segment (if the current one holds anything) and returns every closed segment once
   * it is on disk. The sync runs on libuv's thread pool, not on the event loop.
   */
  async rotate(): Promise<string[]> {
    this.writePending();
    if (this.dirty) {
      const fd = this.fd;
      this.seq++;
      this.fd = this.open();
      this.dirty = false;
      await new Promise<void>((resolve) => fdatasync(fd, () => close(fd, () => resolve())));
    }
    const current = this.name(this.seq);
    return this.segments().filter((f) => f !== current);
  }

  path(segment: string): string {
    return join(this.dir, segment);
  }

  remove(segments: string[]): void {
    for (const s of segments) rmSync(join(this.dir, s), { force: true });
  }

  close(): void {
    this.writePending();
    if (this.dirty) fdatasyncSync(this.fd);
    closeSync(this.fd);
  }
}
