// One SQLite connection through node:sqlite (synchronous). The gateway opens it inside a worker
// thread (sqlite-worker.ts); unit tests may open it directly.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { UniqueViolation, type SqlConnection, type SqlValue } from './db.ts';

export function openSqliteConnection(path: string): SqlConnection {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
  const cache = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  const stmt = (sql: string) => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if ((err as { errcode?: number }).errcode === 2067 || /UNIQUE constraint failed/.test(String((err as Error).message))) {
        throw new UniqueViolation((err as Error).message);
      }
      throw err;
    }
  };
  let depth = 0;
  const conn: SqlConnection = {
    dialect: 'sqlite',
    async run(sql, params: SqlValue[] = []) {
      return wrap(() => ({ changes: Number(stmt(sql).run(...params).changes) }));
    },
    async all<T>(sql: string, params: SqlValue[] = []) {
      return wrap(() => stmt(sql).all(...params) as T[]);
    },
    async get<T>(sql: string, params: SqlValue[] = []) {
      return wrap(() => stmt(sql).get(...params) as T | undefined);
    },
    async transaction<T>(fn: (tx: SqlConnection) => Promise<T>): Promise<T> {
      // One connection, and callers hold no other work between statements: BEGIN/COMMIT is enough.
      if (depth > 0) return fn(conn);
      depth++;
      db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(conn);
        db.exec('COMMIT');
        return out;
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      } finally {
        depth--;
      }
    },
    async close() {
      if (db.isOpen) db.close();
    },
  };
  return conn;
}
