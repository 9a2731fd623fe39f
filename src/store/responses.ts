// The Responses API answers the gateway keeps: one row per response id, its owner (the key that made
// it: a response id is never usable by another key), the deployment that answered, whether that
// deployment keeps the conversation itself (OpenAI's and Azure's Responses API: the id is theirs),
// the conversation's items up to this response's input, and the Response object. Pruned after
// general_settings.responses_retention_period. Rows are written in batches, a few milliseconds after
// their answer (one insert a response cost a Responses call 40 µs of CPU, a fifth of it): this
// instance reads its own at once, another instance may miss one for that long and looks again.
import type { Logger } from 'pino';
import type { Db, Statement } from './db.ts';

/** How long a kept response waits to be written with others. */
const FLUSH_MS = 20;
/** Responses waiting at most (the database away): beyond, the oldest are dropped, said in the log. */
const MAX_PENDING = 10_000;

export interface StoredResponse {
  id: string;
  owner: string;
  model_group: string;
  deployment_id: string | null;
  native: boolean;
  input_items: Record<string, unknown>[];
  response: Record<string, any>;
  created_at: string;
}

interface Row {
  id: string;
  owner: string;
  model_group: string;
  deployment_id: string | null;
  native: number;
  input_items: string;
  response: string;
  created_at: string;
}

const INSERT = `INSERT INTO llmproxy_responses (id, owner, model_group, deployment_id, native, input_items, response, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`;

export class ResponseStore {
  private readonly db: Db;
  private readonly log: Logger | null;
  /** Kept and not yet written, by id. */
  private readonly pending = new Map<string, StoredResponse>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;

  constructor(db: Db, log: Logger | null = null) {
    this.db = db;
    this.log = log;
  }

  /** Keeps a response; it is written with the others of the next few milliseconds. */
  save(r: StoredResponse): void {
    if (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next().value!;
      this.pending.delete(oldest);
      this.log?.warn({ responseId: oldest }, 'kept responses are not being written (the database?): the oldest is dropped');
    }
    this.pending.set(r.id, r);
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what waits, in one transaction; what fails waits for the next try. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writing ??= (async () => {
      const rows = [...this.pending.values()];
      if (rows.length === 0) return;
      const statements: Statement[] = rows.map((r) => ({
        sql: INSERT,
        params: [r.id, r.owner, r.model_group, r.deployment_id, r.native ? 1 : 0, JSON.stringify(r.input_items), JSON.stringify(r.response), r.created_at],
      }));
      try {
        await this.db.batch(statements);
        for (const r of rows) if (this.pending.get(r.id) === r) this.pending.delete(r.id);
      } catch (err) {
        this.log?.warn({ err, waiting: this.pending.size }, 'kept responses could not be written; trying again');
        this.timer ??= setTimeout(() => void this.flush(), 1_000);
      }
    })().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  /** The response of that id if `owner` made it; another's is as good as missing. */
  async get(id: string, owner: string): Promise<StoredResponse | null> {
    const waiting = this.pending.get(id);
    if (waiting) return waiting.owner === owner ? waiting : null;
    const read = async () => {
      const row = await this.db.get<Row>('SELECT * FROM llmproxy_responses WHERE id = ? AND owner = ?', [id, owner]);
      return row ? { ...row, native: Number(row.native) === 1, input_items: JSON.parse(row.input_items), response: JSON.parse(row.response) } : null;
    };
    // (another instance may have kept it a moment ago, its batch not yet written)
    return (await read()) ?? (await new Promise((r) => setTimeout(r, 3 * FLUSH_MS)), await read());
  }

  async delete(id: string, owner: string): Promise<boolean> {
    const waiting = this.pending.get(id);
    if (waiting && waiting.owner === owner) this.pending.delete(id);
    return (await this.db.run('DELETE FROM llmproxy_responses WHERE id = ? AND owner = ?', [id, owner])).changes > 0 || waiting?.owner === owner;
  }

  async prune(before: string): Promise<number> {
    let n = 0;
    for (const [id, r] of this.pending) if (r.created_at < before && this.pending.delete(id)) n++;
    return n + (await this.db.run('DELETE FROM llmproxy_responses WHERE created_at < ?', [before])).changes;
  }
}
