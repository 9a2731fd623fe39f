// The Responses API answers the gateway keeps: one row per response id, its owner (the key that made
// it: a response id is never usable by another key), the deployment that answered, whether that
// deployment keeps the conversation itself (OpenAI's and Azure's Responses API: the id is theirs),
// the conversation's items up to this response's input, and the Response object. Pruned after
// general_settings.responses_retention_period.
import type { Db } from './db.ts';

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

export class ResponseStore {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  async save(r: StoredResponse): Promise<void> {
    await this.db.run(
      `INSERT INTO llmproxy_responses (id, owner, model_group, deployment_id, native, input_items, response, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
      [r.id, r.owner, r.model_group, r.deployment_id, r.native ? 1 : 0, JSON.stringify(r.input_items), JSON.stringify(r.response), r.created_at],
    );
  }

  /** The response of that id if `owner` made it; another's is as good as missing. */
  async get(id: string, owner: string): Promise<StoredResponse | null> {
    const row = await this.db.get<Row>('SELECT * FROM llmproxy_responses WHERE id = ? AND owner = ?', [id, owner]);
    if (!row) return null;
    return { ...row, native: Number(row.native) === 1, input_items: JSON.parse(row.input_items), response: JSON.parse(row.response) };
  }

  async delete(id: string, owner: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM llmproxy_responses WHERE id = ? AND owner = ?', [id, owner])).changes > 0;
  }

  async prune(before: string): Promise<number> {
    return (await this.db.run('DELETE FROM llmproxy_responses WHERE created_at < ?', [before])).changes;
  }
}
