// The one surface repositories use, so that SQLite and (later) PostgreSQL sit behind one adapter each.
// SQL uses `?` placeholders; values are always bound, never spliced into the text.

import type { AppliedBatch, LedgerOptions } from './ledger.ts';
import type { SpendRecord } from '../metering/record.ts';

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
  /** Applies the migrations not applied yet (`upTo`: only those up to that id, for tests of migrating forward). */
  migrate(upTo?: number): Promise<void>;
  /** Runs the statements in one transaction (all or none); the rows each one changed. */
  batch(statements: Statement[]): Promise<number[]>;
  /** Writes the spend records of a closed journal segment exactly once (store/ledger.ts), in one transaction. */
  writeLedgerSegment(file: string, opts?: LedgerOptions): Promise<AppliedBatch>;
  /** Writes spend records of the past (an import's), each once, into the logs and rollups only; how many were new. */
  writeHistory(records: SpendRecord[]): Promise<number>;
  /**
   * Tells every instance on this database that a record changed (PostgreSQL NOTIFY; nothing to tell
   * with SQLite): a key by its hash, an entity as `user:ID`, `team:ID`, `org:ID` or `customer:ID`.
   */
  notifyChanged(ref: string): Promise<void>;
  /** Calls back when an instance on this database changed a record ('*': changes may have been missed). */
  onChanged(listener: (ref: string) => void): Promise<void>;
  close(): Promise<void>;
}

export interface Statement {
  sql: string;
  params?: SqlValue[];
}

/** Runs statements one after another on a transaction's connection. */
export async function runAll(tx: Queryable, statements: Statement[]): Promise<number[]> {
  const out: number[] = [];
  for (const s of statements) out.push((await tx.run(s.sql, s.params)).changes);
  return out;
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
