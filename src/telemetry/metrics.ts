// Prometheus metrics. Labels stay low-cardinality: model group and status, never key or user ids.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SpendRecord } from '../metering/record.ts';
import { nanosToUsd } from '../metering/money.ts';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'llmproxy_requests_total', help: 'LLM calls by model group and HTTP status', labelNames: ['model', 'status'] as const, registers: [this.registry] });
  private readonly errors = new Counter({ name: 'llmproxy_errors_total', help: 'LLM calls that failed, by model group and error type', labelNames: ['model', 'type'] as const, registers: [this.registry] });
  private readonly tokens = new Counter({ name: 'llmproxy_tokens_total', help: 'Tokens by model group and kind (input, cache_read, cache_write, output, reasoning)', labelNames: ['model', 'kind'] as const, registers: [this.registry] });
  private readonly spend = new Counter({ name: 'llmproxy_spend_usd_total', help: 'Spend in USD by model group', labelNames: ['model'] as const, registers: [this.registry] });
  private readonly latency = new Histogram({ name: 'llmproxy_request_duration_seconds', help: 'Whole call duration', labelNames: ['model'] as const, buckets: SECONDS, registers: [this.registry] });
  private readonly ttft = new Histogram({ name: 'llmproxy_time_to_first_token_seconds', help: 'Time to the first byte of the answer', labelNames: ['model'] as const, buckets: SECONDS, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'llmproxy_' });
  }

  observe(r: SpendRecord): void {
    const model = r.model_group || 'unknown';
    this.requests.inc({ model, status: String(r.http_status) });
    if (r.status === 'error') this.errors.inc({ model, type: r.error_type ?? 'unknown' });
    const u = r.usage;
    for (const [kind, n] of [['input', u.input], ['cache_read', u.cacheRead], ['cache_write', u.cacheWrite + u.cacheWrite1h], ['output', u.output], ['reasoning', u.reasoning]] as const) {
      if (n > 0) this.tokens.inc({ model, kind }, n);
    }
    if (r.cost_nanos > 0) this.spend.inc({ model }, nanosToUsd(r.cost_nanos));
    this.latency.observe({ model }, r.latency_ms / 1000);
    if (r.ttft_ms !== null) this.ttft.observe({ model }, r.ttft_ms / 1000);
  }
}
