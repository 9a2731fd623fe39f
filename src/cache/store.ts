// Where cached answers live: in this process (an LRU bounded in bytes) or in Redis (shared by every
// instance, each entry with its own expiry). The gateway's other Redis keys (counters, leases) are
// never touched: flushing deletes the cache's own namespace only.
import type { RedisClientType } from 'redis';
import type { UsageRecord } from '../metering/usage.ts';

/** One cached answer, as the client got it. */
export interface CachedAnswer {
  /** The answer's bytes (a stream's frames, as relayed). */
  body: Buffer;
  contentType: string;
  stream: boolean;
  /** What the answer used when it was made (recorded again with each hit, at no cost). */
  usage: UsageRecord;
  /** The upstream model and deployment that made it. */
  model: string;
  deployment: string;
  /** When it was made (epoch ms): s-maxage compares with it. */
  createdAt: number;
}

export interface CacheStore {
  readonly kind: 'local' | 'redis';
  get(key: string): Promise<CachedAnswer | null>;
  set(key: string, answer: CachedAnswer, ttlMs: number): Promise<void>;
  delete(keys: string[]): Promise<number>;
  flush(): Promise<void>;
  ping(): Promise<boolean>;
}

/** Bytes an entry costs beyond its body (its fields, the map's own). */
const OVERHEAD = 256;

/** An LRU of answers bounded in bytes; an entry past its time is gone when next looked at. */
export class LocalCache implements CacheStore {
  readonly kind = 'local';
  private readonly entries = new Map<string, { answer: CachedAnswer; expiresAt: number; bytes: number }>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(maxBytes: number, now: () => number = Date.now) {
    this.maxBytes = maxBytes;
    this.now = now;
  }

  async get(key: string): Promise<CachedAnswer | null> {
    const e = this.entries.get(key);
    if (!e) return null;
    this.entries.delete(key);
    if (e.expiresAt <= this.now()) {
      this.bytes -= e.bytes;
      return null;
    }
    // (the most recently used last: eviction takes from the front)
    this.entries.set(key, e);
    return e.answer;
  }

  async set(key: string, answer: CachedAnswer, ttlMs: number): Promise<void> {
    const bytes = answer.body.length + OVERHEAD;
    if (bytes > this.maxBytes) return;
    await this.delete([key]);
    // (a body of its own memory: a small one may be a slice of a pooled 8 KB block, which it would keep alive)
    const body = Buffer.allocUnsafeSlow(answer.body.length);
    answer.body.copy(body);
    this.entries.set(key, { answer: { ...answer, body }, expiresAt: this.now() + ttlMs, bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  async delete(keys: string[]): Promise<number> {
    let n = 0;
    for (const k of keys) {
      const e = this.entries.get(k);
      if (!e) continue;
      this.entries.delete(k);
      this.bytes -= e.bytes;
      n++;
    }
    return n;
  }

  async flush(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  /** Bytes held now (tests, metrics). */
  get size(): number {
    return this.bytes;
  }
}

/** Answers in Redis under `prefix` (one key each, expiring by itself), shared by every instance. */
export class RedisCache implements CacheStore {
  readonly kind = 'redis';
  private readonly client: RedisClientType;
  private readonly prefix: string;

  constructor(client: RedisClientType, prefix: string) {
    this.client = client;
    this.prefix = prefix;
  }

  async get(key: string): Promise<CachedAnswer | null> {
    const v = await this.client.get(this.prefix + key);
    if (typeof v !== 'string') return null;
    try {
      const o = JSON.parse(v) as Omit<CachedAnswer, 'body'> & { body: string };
      return { ...o, body: Buffer.from(o.body, 'base64') };
    } catch {
      return null;
    }
  }

  async set(key: string, answer: CachedAnswer, ttlMs: number): Promise<void> {
    await this.client.set(this.prefix + key, JSON.stringify({ ...answer, body: answer.body.toString('base64') }), { PX: Math.max(1, Math.round(ttlMs)) });
  }

  async delete(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return Number(await this.client.del(keys.map((k) => this.prefix + k)));
  }

  async flush(): Promise<void> {
    let batch: string[] = [];
    for await (const found of this.client.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 500 })) {
      batch.push(...(Array.isArray(found) ? found : [found]));
      if (batch.length >= 500) {
        await this.client.del(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await this.client.del(batch);
  }

  async ping(): Promise<boolean> {
    return (await this.client.ping()) === 'PONG';
  }
}
