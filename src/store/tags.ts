// Repository of tags (LiteLLM's tag table): names requests carry (metadata.tags, x-litellm-tags, their
// key's tags) to count spend by cost center or project; a tag's budget is a shared budget row.
import type { Queryable } from './db.ts';
import { EntityRepo, type TableSpec } from './rows.ts';

export interface TagRecord {
  tag_name: string;
  description: string | null;
  models: string[];
  budget_id: string | null;
  spend_nanos: number;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export const TAGS: TableSpec<TagRecord> = {
  table: 'llmproxy_tags',
  columns: ['tag_name', 'description', 'models', 'budget_id', 'spend_nanos', 'created_by', 'updated_by', 'created_at', 'updated_at'],
  json: new Set(['models']),
  bools: new Set(),
  defaults: { models: [] },
};

export class TagRepo extends EntityRepo<TagRecord> {
  constructor(db: Queryable) {
    super(db, TAGS, 'tag_name');
  }

  async list(): Promise<TagRecord[]> {
    return (await this.db.all('SELECT * FROM llmproxy_tags ORDER BY tag_name')).map(this.read);
  }

  /** The tags the request path must know of: those with a budget. */
  async withBudget(): Promise<TagRecord[]> {
    return (await this.db.all('SELECT * FROM llmproxy_tags WHERE budget_id IS NOT NULL')).map(this.read);
  }
}
