// PostgreSQL through pg. Statements are written with `?` placeholders (shared with SQLite) and
// numbered here; BIGINT columns come back as numbers (per-key totals stay below 2^53 nano-dollars;
// global sums are NUMERIC strings, read as BigInt by their callers). Migrations take an advisory lock,
// so several instances starting at once apply them once.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { readSegment } from '../metering/journal.ts';
import type { SpendRecord } from '../metering/record.ts';
import { DatabaseUnavailable, runAll, UniqueViolation, type Db, type Queryable, type SqlConnection, type SqlValue, type Statement } from './db.ts';
import { applyLedger, type AppliedBatch, type LedgerOptions } from './ledger.ts';
import { migrate } from './migrations.ts';

pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`BIGINT ${v} does not fit a JavaScript number`);
  return n;
});

const numbered = new Map<string, string>();
function toPg(sql: string): string {
  let out = numbered.get(sql);
  if (out === undefined) {
    let i = 0;
    out = sql.replace(/\?/g, () => `$${++i}`);
    numbered.set(sql, out);
  }
  return out;
}

type Client = pg.Pool | pg.PoolClient;

function queries(client: Client): Queryable {
  const q = async (sql: string, params: SqlValue[] = []) => {
    try {
      return await client.query(toPg(sql), params as unknown[]);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '23505') throw new UniqueViolation((err as Error).message);
      // No SQLSTATE (a socket error, a timeout) or a connection class (08xxx, 57P0x): unreachable.
      if (code === undefined || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code.startsWith('57P')) {
        throw new DatabaseUnavailable((err as Error).message);
      }
      throw err;
    }
  };
  return {
    run: async (sql, params) => ({ changes: (await q(sql, params)).rowCount ?? 0 }),
    all: async <T>(sql: string, params?: SqlValue[]) => (await q(sql, params)).rows as T[],
    get: async <T>(sql: string, params?: SqlValue[]) => (await q(sql, params)).rows[0] as T | undefined,
  };
}

const MIGRATION_LOCK = 7_405_661_001;
const KEY_CHANNEL = 'llmproxy_keys';
/** Tags this process's notifications, so that it does not drop its own fresh cache entries. */
const INSTANCE = randomUUID();

export function openPostgres(url: string): Db {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000 });
  let listener: pg.Client | null = null;
  let closing = false;
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const base = queries(pool);
  /**
   * A client of its own for a while. pg-pool leaves a checked-out client without an 'error' listener:
   * a connection cut then (the database restarting during a ledger write) would be an uncaught
   * 'error' event, and the process would exit. The statement in flight fails instead; a broken
   * client is dropped from the pool when released.
   */
  const withClient = async <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    const c = await pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    c.on('error', onError);
    try {
      return await fn(c);
    } finally {
      c.off('error', onError);
      c.release(broken);
    }
  };
  const connection = (client: Client): SqlConnection => ({
    dialect: 'postgres',
    ...queries(client),
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return withClient(async (c) => {
        try {
          await c.query('BEGIN');
          const out = await fn(queries(c));
          await c.query('COMMIT');
          return out;
        } catch (err) {
          await c.query('ROLLBACK').catch(() => {});
          throw err;
        }
      });
    },
    close: async () => {},
  });
  return {
    dialect: 'postgres',
    ...base,
    migrate(upTo?: number) {
      return withClient(async (c) => {
        await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
        try {
          await migrate(connection(c), upTo);
        } finally {
          await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
        }
      });
    },
    batch: (statements: Statement[]) => connection(pool).transaction((tx) => runAll(tx, statements)),
    writeLedgerSegment: (file: string, opts?: LedgerOptions): Promise<AppliedBatch> => applyLedger(connection(pool), readSegment(file), opts),
    writeHistory: async (records: SpendRecord[]) => (await applyLedger(connection(pool), records, { createCustomers: false, history: true })).inserted,
    async notifyChanged(ref: string) {
      await pool.query('SELECT pg_notify($1, $2)', [KEY_CHANNEL, `${INSTANCE} ${ref}`]);
    },
    async onChanged(callback: (ref: string) => void) {
      // One connection that only listens. After a failure it reconnects; once it is back, every cached
      // record is dropped (callback '*'), since changes made meanwhile were missed. While it is down the
      // cache is kept: during a database outage the keys it holds are all that can be checked.
      const listen = async (reconnect: boolean): Promise<void> => {
        const c = new pg.Client({ connectionString: url });
        let failed = false;
        const retry = () => {
          if (failed || closing) return;
          failed = true;
          c.end().catch(() => {});
          setTimeout(() => void listen(true).catch(() => {}), 1000).unref();
        };
        c.on('notification', (n) => {
          // "<instance> <ref>": a ref (an entity's id) may hold spaces itself.
          const payload = n.payload ?? '';
          const space = payload.indexOf(' ');
          const ref = space > 0 ? payload.slice(space + 1) : '';
          if (n.channel === KEY_CHANNEL && ref && payload.slice(0, space) !== INSTANCE) callback(ref);
        });
        c.on('error', retry);
        c.on('end', retry);
        try {
          await c.connect();
          await c.query(`LISTEN ${KEY_CHANNEL}`);
        } catch {
          retry();
          return;
        }
        listener = c;
        if (reconnect) callback('*');
      };
      await listen(false);
    },
    async close() {
      closing = true;
      await listener?.end().catch(() => {});
      await pool.end();
    },
  };
}
