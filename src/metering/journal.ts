// The local spend journal: every record is appended (one write to the OS) before its answer
// completes, so a killed process loses nothing it answered. Segments are closed by rotation, written
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

  append(r: SpendRecord): void {
    writeSync(this.fd, `${JSON.stringify(r)}\n`);
    this.dirty = true;
  }

  /**
   * Starts a new segment (if the current one holds anything) and returns every closed segment once
   * it is on disk. The sync runs on libuv's thread pool, not on the event loop.
   */
  async rotate(): Promise<string[]> {
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
    if (this.dirty) fdatasyncSync(this.fd);
    closeSync(this.fd);
  }
}
