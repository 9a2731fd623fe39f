// Keys (and the users, teams and organizations they belong to) answered from memory: a warm record
// costs no database read, and an unknown one is remembered as unknown for a while so that a flood of
// the same bad credential costs none either. Admin changes on this instance update the cache at once,
// other instances' through the database's notifications; the TTL bounds staleness otherwise.
import type { KeyRecord, KeyRepo } from '../store/keys.ts';
import { GatewayError } from '../http/errors.ts';

interface Entry<T> {
  key: T | null;
  until: number;
}

export interface CacheOptions {
  ttlMs?: number;
  negativeTtlMs?: number;
  maxEntries?: number;
  /** While the database is unreachable, records seen before keep being served (allow_requests_on_db_unavailable). */
  serveStale?: boolean;
}

export class RecordCache<T extends { spend_nanos: number }> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Database reads in flight, by id. */
  private readonly reads = new Map<string, Promise<T | null>>();
  private readonly read: (id: string) => Promise<T | undefined>;
  /** What a record is, for the error when the database cannot be read ("key", "team", ...). */
  private readonly what: string;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;

  private readonly serveStale: boolean;

  constructor(what: string, read: (id: string) => Promise<T | undefined>, opts: CacheOptions = {}) {
    this.what = what;
    this.read = read;
    this.serveStale = opts.serveStale ?? false;
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 10_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  /** The record when its entry is live (null: known not to exist); undefined when it must be read. */
  peek(token: string, now = Date.now()): T | null | undefined {
    const hit = this.entries.get(token);
    return hit && hit.until > now ? hit.key : undefined;
  }

  async lookup(token: string, now = Date.now()): Promise<T | null> {
    const hit = this.entries.get(token);
    if (hit && hit.until > now) return hit.key;
    // One read per record at a time: when a busy key's entry expires, its concurrent calls share it.
    let reading = this.reads.get(token);
    if (!reading) {
      const read: Promise<T | null> = this.read(token).then((key) => {
        // Stored only if no admin change came meanwhile: this row may predate it (a block, a deletion).
        if (this.reads.get(token) === read) this.store(token, key ?? null, now);
        return key ?? null;
      });
      const forget = () => {
        if (this.reads.get(token) === read) this.reads.delete(token);
      };
      read.then(forget, forget);
      this.reads.set(token, read);
      reading = read;
    }
    try {
      return await reading;
    } catch {
      if (hit && this.serveStale) return hit.key;
      throw new GatewayError('db_unavailable', `The database is unreachable and this ${this.what} is not in the cache; try again shortly.`);
    }
  }

  /** Records the current state of a record after an admin change (null: deleted). */
  set(token: string, key: T | null, now = Date.now()): void {
    this.reads.delete(token);
    this.store(token, key, now);
  }

  private store(token: string, key: T | null, now: number): void {
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest tenth at once rather than one per insert.
      let n = Math.ceil(this.maxEntries / 10);
      for (const k of this.entries.keys()) {
        this.entries.delete(k);
        if (--n === 0) break;
      }
    }
    this.entries.set(token, { key, until: now + (key ? this.ttlMs : this.negativeTtlMs) });
  }

  /** Spend just written to the database for a record, so the cached record stays current. */
  addSpend(token: string, nanos: number): void {
    const hit = this.entries.get(token);
    if (hit?.key) hit.key.spend_nanos += nanos;
  }

  /** Forgets a record (another instance changed it); '*' forgets them all. */
  delete(token: string): void {
    if (token === '*') {
      this.entries.clear();
      this.reads.clear();
    } else {
      this.entries.delete(token);
      this.reads.delete(token);
    }
  }
}

/** Virtual keys by their hash. */
export class KeyCache extends RecordCache<KeyRecord> {
  constructor(repo: Pick<KeyRepo, 'get'>, opts: CacheOptions = {}) {
    super('key', (token) => repo.get(token), opts);
  }
}
