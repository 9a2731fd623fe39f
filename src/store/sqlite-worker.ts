// The thread that owns the SQLite connection: node:sqlite is synchronous, so every statement runs
// here and the event loop of the request path never waits on the disk.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteConnection } from './sqlite.ts';
import { applyLedger, type LedgerOptions } from './ledger.ts';
import { migrate } from './migrations.ts';
import { runAll, UniqueViolation, type Statement } from './db.ts';
import { readSegment } from '../metering/journal.ts';
import type { SpendRecord } from '../metering/record.ts';

export type Request =
  | { id: number; op: 'run' | 'all' | 'get'; sql: string; params: unknown[] }
  | { id: number; op: 'migrate'; upTo?: number }
  | { id: number; op: 'close' }
  | { id: number; op: 'batch'; statements: Statement[] }
  | { id: number; op: 'ledger'; file: string; opts?: LedgerOptions }
  | { id: number; op: 'history'; records: SpendRecord[] };

const HISTORY: LedgerOptions = { createCustomers: false, history: true };
const conn = openSqliteConnection((workerData as { path: string }).path);

parentPort!.on('message', async (req: Request) => {
  try {
    let result: unknown;
    switch (req.op) {
      case 'run':
        result = await conn.run(req.sql, req.params as never);
        break;
      case 'all':
        result = await conn.all(req.sql, req.params as never);
        break;
      case 'get':
        result = await conn.get(req.sql, req.params as never);
        break;
      case 'batch':
        result = await conn.transaction((tx) => runAll(tx, req.statements));
        break;
      case 'migrate':
        await migrate(conn, req.upTo);
        break;
      case 'ledger':
        result = await applyLedger(conn, readSegment(req.file), req.opts);
        break;
      case 'history':
        result = (await applyLedger(conn, req.records, HISTORY)).inserted;
        break;
      case 'close':
        await conn.close();
        break;
    }
    parentPort!.postMessage({ id: req.id, result });
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: { message: (err as Error).message, unique: err instanceof UniqueViolation } });
  }
});
