import type { UsageRecord } from './usage.ts';

/** One request's line in the ledger. Nothing of the prompt or the answer. */
export interface SpendRecord {
  /** The gateway's own id (x-litellm-call-id): the ledger's key, so a record counts once. */
  request_id: string;
  upstream_id: string | null;
  key_token: string | null;
  user_id: string | null;
  team_id: string | null;
  organization_id: string | null;
  /** The customer the request was made for (its `user` field, or a header naming it). */
  end_user: string | null;
  model_group: string;
  deployment_id: string | null;
  provider: string | null;
  model: string | null;
  call_type: 'chat' | 'embeddings' | 'anthropic_messages' | 'rerank' | 'responses' | 'text_completion';
  usage: UsageRecord;
  cost_nanos: number;
  status: 'success' | 'error';
  http_status: number;
  error_type: string | null;
  stream: boolean;
  latency_ms: number;
  ttft_ms: number | null;
  tags: string[];
  started_at: string;
  /** The model of the key's model_max_budget that held the call (its spend counts there too); none: null or absent. */
  budget_model?: string | null;
  /** Answered from the response cache (no provider called); absent: false. */
  cache_hit?: boolean;
}
