// Tags on the request path: which tags a call carries, and the budgets of those that have one. Tags
// with a budget are few (cost centers, projects) and all held in memory, so a call naming any tag
// costs no database read; changed here they are replaced at once, on another instance read again.
import type { Headers } from '../pipeline/context.ts';
import type { KeyRecord } from '../store/keys.ts';
import type { TagRecord } from '../store/tags.ts';
import type { TeamRecord } from '../store/teams.ts';

/** More tags than this on one call are not taken (each one is a counter to hold and a row to write). */
export const MAX_TAGS = 32;
const MAX_TAG = 256;

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string' && t.trim() !== '' && t.length <= MAX_TAG) : [];
}

const metaTags = (m: unknown) => (m && typeof m === 'object' ? strings((m as Record<string, unknown>).tags) : []);

/**
 * A call's tags, as LiteLLM gathers them: the body's `tags` or `metadata.tags` (`litellm_metadata`
 * too), the `x-litellm-tags` header (comma-separated), and those of its key (`tags`, `metadata.tags`)
 * and its team (`metadata.tags`), which the caller cannot leave out.
 */
export function tagsOf(headers: Headers, body: Record<string, unknown>, key: KeyRecord | null, team: TeamRecord | null): string[] {
  const header = headers['x-litellm-tags'];
  const all = [
    ...(key ? [...strings(key.tags), ...metaTags(key.metadata)] : []),
    ...(team ? metaTags(team.metadata) : []),
    ...strings(body.tags),
    ...metaTags(body.metadata),
    ...metaTags(body.litellm_metadata),
    ...(typeof header === 'string' ? strings(header.split(',').map((t) => t.trim())) : []),
  ];
  return [...new Set(all)].slice(0, MAX_TAGS);
}

export interface TagState {
  budget_id: string;
  /** Recorded spend, kept current as the ledger writes. */
  spend_nanos: number;
  created_at: string;
}

export class TagBudgets {
  private readonly held = new Map<string, TagState>();
  private readonly load: () => Promise<TagRecord[]>;
  private readonly read: (name: string) => Promise<TagRecord | undefined>;

  constructor(load: () => Promise<TagRecord[]>, read: (name: string) => Promise<TagRecord | undefined>) {
    this.load = load;
    this.read = read;
  }

  /** Reads every tag with a budget (at start, and when changes may have been missed). */
  async reloadAll(): Promise<void> {
    const rows = await this.load();
    this.held.clear();
    for (const t of rows) this.set(t.tag_name, t);
  }

  set(name: string, t: TagRecord | null): void {
    if (t && t.budget_id !== null) this.held.set(name, { budget_id: t.budget_id, spend_nanos: t.spend_nanos, created_at: t.created_at });
    else this.held.delete(name);
  }

  async reload(name: string): Promise<void> {
    this.set(name, (await this.read(name)) ?? null);
  }

  get(name: string): TagState | undefined {
    return this.held.get(name);
  }

  get size(): number {
    return this.held.size;
  }

  /** Spend just written to the database for a tag. */
  addSpend(name: string, nanos: number): void {
    const t = this.held.get(name);
    if (t) t.spend_nanos += nanos;
  }
}
