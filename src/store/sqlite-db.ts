// The SQLite Db of the gateway: every statement is sent to the worker thread that owns the connection.
import { Worker } from 'node:worker_threads';
import { UniqueViolation, type Db, type SqlValue, type Statement } from './db.ts';
import type { AppliedBatch, LedgerOptions } from './ledger.ts';
import type { SpendRecord } from '../metering/record.ts';

export function openSqlite(path: string): Db {
  const worker = new Worker(new URL('./sqlite-worker.ts', import.meta.url), { workerData: { path } });
  worker.unref();
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failure: Error | null = null;
  worker.on('message', (m: { id: number; result?: unknown; error?: { message: string; unique: boolean } }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(m.error.unique ? new UniqueViolation(m.error.message) : new Error(m.error.message));
    else w.resolve(m.result);
  });
  worker.on('error', (err) => {
    failure = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  });
  const call = <T>(msg: Record<string, unknown>): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      // Only in-flight calls keep the process alive.
      if (waiting.size === 1) worker.ref();
      worker.postMessage({ ...msg, id });
    }).finally(() => {
      if (waiting.size === 0) worker.unref();
    });
  };
  return {
    dialect: 'sqlite',
    run: (sql: string, params: SqlValue[] = []) => call<{ changes: number }>({ op: 'run', sql, params }),
    all: <T>(sql: string, params: SqlValue[] = []) => call<T[]>({ op: 'all', sql, params }),
    get: <T>(sql: string, params: SqlValue[] = []) => call<T | undefined>({ op: 'get', sql, params }),
    migrate: (upTo?: number) => call<void>({ op: 'migrate', upTo }),
    batch: (statements: Statement[]) => call<number[]>({ op: 'batch', statements }),
    writeLedgerSegment: (file: string, opts?: LedgerOptions) => call<AppliedBatch>({ op: 'ledger', file, opts }),
    writeHistory: (records: SpendRecord[]) => call<number>({ op: 'history', records }),
    // A SQLite file has one gateway process: there is no other instance to tell.
    notifyChanged: async () => {},
    onChanged: async () => {},
    async close() {
      if (!failure) await call<void>({ op: 'close' }).catch(() => {});
      await worker.terminate();
    },
  };
}
