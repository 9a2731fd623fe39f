import type { SpendRecord } from '../../src/metering/record.ts';

/** A spend record for ledger tests: one input and one output token, 1,000 nano-dollars, unless overridden. */
export function spendRecord(request_id: string, over: Partial<SpendRecord> = {}): SpendRecord {
  return {
    request_id,
    upstream_id: null,
    key_token: 't1',
    user_id: null,
    team_id: null,
    organization_id: null,
    end_user: null,
    model_group: 'g',
    deployment_id: 'd',
    provider: 'openai',
    model: 'm',
    call_type: 'chat',
    usage: { input: 1, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 1, reasoning: 0, estimated: false },
    cost_nanos: 1000,
    status: 'success',
    http_status: 200,
    error_type: null,
    stream: false,
    latency_ms: 1,
    ttft_ms: null,
    tags: [],
    started_at: '2026-01-01T10:30:00.000Z',
    budget_model: null,
    ...over,
  };
}
