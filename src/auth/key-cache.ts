// Keys answered from memory: a warm key costs no database read, and an unknown key is remembered as
// unknown for a while so that a flood of the same bad credential costs none either.
// Admin changes on this instance update the cache at once; the TTL bounds staleness otherwise.
import type { KeyRecord, KeyRepo } from '../store/keys.ts';
import { GatewayError } from '../http/errors.ts';

interface Entry {
  key: KeyRecord | null;
  until: number;
}

export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  /** Database reads in flight, by key. */
  private readonly reads = new Map<string, Promise<KeyRecord | null>>();
  private readonly repo: KeyRepo;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;

  private readonly serveStale: boolean;

  /** `serveStale`: while the database is unreachable, keys seen before keep working (allow_requests_on_db_unavailable). */
  constructor(repo: KeyRepo, opts: { ttlMs?: number; negativeTtlMs?: number; maxEntries?: number; serveStale?: boolean } = {}) {
    this.repo = repo;
    this.serveStale = opts.serveStale ?? false;
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 10_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  async lookup(token: string, now = Date.now()): Promise<KeyRecord | null> {
    const hit = this.entries.get(token);
    if (hit && hit.until > now) return hit.key;
    // One read per key at a time: when a busy key's entry expires, its concurrent calls share it.
    let reading = this.reads.get(token);
    if (!reading) {
      const read: Promise<KeyRecord | null> = this.repo.get(token).then((key) => {
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
      throw new GatewayError('db_unavailable', 'The database is unreachable and this key is not in the cache; try again shortly.');
    }
  }

  /** Records the current state of a key after an admin change (null: deleted). */
  set(token: string, key: KeyRecord | null, now = Date.now()): void {
    this.reads.delete(token);
    this.store(token, key, now);
  }

  private store(token: string, key: KeyRecord | null, now: number): void {
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

  /** Spend just written to the database for a key, so the cached record stays current. */
  addSpend(token: string, nanos: number): void {
    const hit = this.entries.get(token);
    if (hit?.key) hit.key.spend_nanos += nanos;
  }

  /** Forgets a key (another instance changed it); '*' forgets them all. */
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
