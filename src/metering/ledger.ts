// The ledger writer: records go to the journal at once (on the request path: one write), and from the
// journal to the database in batches, off the request path, every `intervalMs`. While the database is
// unreachable the segments stay on disk and the gateway keeps serving; they are written when it
// comes back, or replayed at the next start. Writes are idempotent (keyed by request id).
import type { Logger } from 'pino';
import type { Db } from '../store/db.ts';
import type { AppliedBatch, LedgerOptions } from '../store/ledger.ts';
import type { Journal } from './journal.ts';
import type { SpendRecord } from './record.ts';

export class Ledger {
  private readonly db: Db;
  private readonly journal: Journal;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly onApplied: (batch: AppliedBatch) => void;
  private readonly options: LedgerOptions;
  private timer: NodeJS.Timeout | null = null;
  /** Flushes run one after another; a caller's flush covers every record appended before it. */
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private failing = false;
  /** Set while a batch is written (or waits to be): readers of spend wait for it. */
  private writing: Promise<void> | null = null;
  private readers = 0;
  private readersGone: (() => void) | null = null;

  constructor(opts: { db: Db; journal: Journal; log: Logger; intervalMs?: number; onApplied?: (batch: AppliedBatch) => void; createCustomers?: boolean; proxyBudgetUser?: string | null }) {
    this.db = opts.db;
    this.journal = opts.journal;
    this.log = opts.log;
    this.intervalMs = opts.intervalMs ?? 250;
    this.onApplied = opts.onApplied ?? (() => {});
    this.options = { createCustomers: opts.createCustomers ?? true, proxyBudgetUser: opts.proxyBudgetUser ?? null };
  }

  /** Replays what a previous process left, then flushes on a timer. */
  async start(): Promise<void> {
    await this.flush();
    this.timer = setInterval(() => {
      if (this.queued === 0) void this.flush();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Resolves once the record is in the journal (then a crash cannot lose it). */
  record(r: SpendRecord): Promise<void> {
    return this.journal.append(r);
  }

  /** Writes every record appended so far to the database (as far as it is reachable). */
  flush(): Promise<void> {
    this.queued++;
    this.chain = this.chain
      .then(() => this.flushOnce())
      .catch((err) => this.log.error({ err }, 'spend ledger: flush failed'))
      .finally(() => this.queued--);
    return this.chain;
  }

  /**
   * Runs a read of recorded spend that adds the limiter's pending spend to the database's figures:
   * no batch is written meanwhile, so every record is counted in exactly one of the two (a batch
   * committed between the two reads would be counted twice or not at all). Reads run concurrently;
   * `read` must not wait for a flush.
   */
  async steady<T>(read: () => Promise<T>): Promise<T> {
    while (this.writing) await this.writing;
    this.readers++;
    try {
      return await read();
    } finally {
      if (--this.readers === 0 && this.readersGone) {
        this.readersGone();
        this.readersGone = null;
      }
    }
  }

  /** Writes one batch and releases its pending spend with no steady read in between (flushes are already one at a time). */
  private async exclusive<T>(write: () => Promise<T>): Promise<T> {
    let done!: () => void;
    this.writing = new Promise((resolve) => (done = resolve));
    try {
      if (this.readers > 0) await new Promise<void>((resolve) => (this.readersGone = resolve));
      return await write();
    } finally {
      this.writing = null;
      done();
    }
  }

  private async flushOnce(): Promise<void> {
    const segments = await this.journal.rotate();
    for (const segment of segments) {
      try {
        await this.exclusive(async () => {
          const batch = await this.db.writeLedgerSegment(this.journal.path(segment), this.options);
          this.journal.remove([segment]);
          this.onApplied(batch);
        });
        if (this.failing) this.log.info('spend ledger: database reachable again, queued records written');
        this.failing = false;
      } catch (err) {
        if (!this.failing) this.log.error({ err }, 'spend ledger: cannot write to the database; records stay queued in the journal');
        this.failing = true;
        return;
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    this.journal.close();
  }
}
