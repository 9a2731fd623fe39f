// The one surface repositories use, so that SQLite and (later) PostgreSQL sit behind one adapter each.
// SQL uses `?` placeholders; values are always bound, never spliced into the text.

import type { AppliedBatch } from './ledger.ts';

export type SqlValue = string | number | bigint | null;

/** Statements on one connection; what migrations and the ledger's transaction run on. */
export interface SqlConnection {
  readonly dialect: 'sqlite' | 'postgres';
  run(sql: string, params?: SqlValue[]): Promise<{ changes: number }>;
  all<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T | undefined>;
  /** Runs fn in one transaction, on the connection it is given. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The store as the gateway uses it. */
export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  run(sql: string, params?: SqlValue[]): Promise<{ changes: number }>;
  all<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T | undefined>;
  migrate(): Promise<void>;
  /** Writes the spend records of a closed journal segment exactly once (store/ledger.ts), in one transaction. */
  writeLedgerSegment(file: string): Promise<AppliedBatch>;
  /** Tells every instance on this database that a key changed (PostgreSQL NOTIFY; nothing to tell with SQLite). */
  notifyKeyChanged(token: string): Promise<void>;
  /** Calls back when an instance on this database changed a key. */
  onKeyChanged(listener: (token: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** What a repository needs: statements, on the gateway's Db or on a bare connection. */
export type Queryable = Pick<SqlConnection, 'run' | 'all' | 'get'>;

/** Thrown for a unique-constraint violation, whatever the database. */
export class UniqueViolation extends Error {}

/** Thrown when the database cannot be reached (as opposed to a statement it refused). */
export class DatabaseUnavailable extends Error {}

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** Parses DATABASE_URL: sqlite:PATH, sqlite::memory:, postgres:// or postgresql://. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url === 'sqlite::memory:' || url === ':memory:') return { kind: 'sqlite', path: ':memory:' };
  const m = /^sqlite:(?:\/\/)?(.+)$/.exec(url) ?? /^file:(.+)$/.exec(url);
  if (m) return { kind: 'sqlite', path: m[1]! };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  throw new Error(`DATABASE_URL: "${url.replace(/\/\/[^@]*@/, '//***@')}" is not understood; use postgresql://..., sqlite:PATH or sqlite::memory:`);
}
