// The local spend journal: every record is appended (written to the OS) before its answer completes,
// so a killed process loses nothing it answered. The records of one event-loop turn go in one write. Segments are closed by rotation, written
// to the database, then deleted; at start, segments left over are replayed (the ledger is idempotent).
import { close, closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SpendRecord } from './record.ts';

const SEGMENT = /^spend-(\d{16})\.ndjson$/;

/**
 * A record's line: its values in a fixed order after the format's number, half the bytes of the
 * object and half the time to write and to read (JSON without keys: 2.7 -> 1.4 µs to write, 3.3 ->
 * 1.6 µs to read). Fields added later go at the end (organization_id, cache_hit): an earlier version reading such
 * a line takes what it knows, and this one reads an earlier line's missing fields as null.
 */
const FORMAT = 1;

export function recordLine(r: SpendRecord): string {
  const u = r.usage;
  return `${JSON.stringify([
    FORMAT, r.request_id, r.upstream_id, r.key_token, r.user_id, r.team_id, r.end_user, r.model_group, r.deployment_id,
    r.provider, r.model, r.call_type, u.input, u.cacheRead, u.cacheWrite, u.cacheWrite1h, u.output, u.reasoning, u.estimated,
    r.cost_nanos, r.status, r.http_status, r.error_type, r.stream, r.latency_ms, r.ttft_ms, r.tags, r.started_at,
    r.organization_id, r.budget_model ?? null, r.cache_hit === true,
  ])}\n`;
}

/** A line back to its record; segments of earlier versions hold the record as an object. */
function parseLine(line: string): SpendRecord {
  const v = JSON.parse(line) as unknown;
  if (!Array.isArray(v)) return { ...(v as SpendRecord), organization_id: (v as Partial<SpendRecord>).organization_id ?? null };
  // Never guessed: a segment this version cannot read stays in the journal.
  if (v[0] !== FORMAT) throw new Error(`journal line of unknown format ${String(v[0])}; a newer version wrote it`);
  return {
    request_id: v[1], upstream_id: v[2], key_token: v[3], user_id: v[4], team_id: v[5], end_user: v[6], model_group: v[7],
    deployment_id: v[8], provider: v[9], model: v[10], call_type: v[11],
    usage: { input: v[12], cacheRead: v[13], cacheWrite: v[14], cacheWrite1h: v[15], output: v[16], reasoning: v[17], estimated: v[18] },
    cost_nanos: v[19], status: v[20], http_status: v[21], error_type: v[22], stream: v[23], latency_ms: v[24], ttft_ms: v[25],
    tags: v[26], started_at: v[27], organization_id: v[28] ?? null, budget_model: v[29] ?? null,
    ...(v[30] === true ? { cache_hit: true } : {}),
  };
}

/** The records of a closed segment (read by whoever writes them to the database). */
export function readSegment(file: string): SpendRecord[] {
  const out: SpendRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      out.push(parseLine(line));
    } catch (err) {
      // a line cut by a crash mid-write: its request never completed
      if (!(err instanceof SyntaxError)) throw err;
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
    this.pending.push(recordLine(r));
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
