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

  /** Labelled series per model group, looked up once: prom-client hashes label objects on every call. */
  private readonly byModel = new Map<string, ReturnType<Metrics['seriesFor']>>();

  private seriesFor(model: string) {
    return {
      input: this.tokens.labels(model, 'input'),
      cacheRead: this.tokens.labels(model, 'cache_read'),
      cacheWrite: this.tokens.labels(model, 'cache_write'),
      output: this.tokens.labels(model, 'output'),
      reasoning: this.tokens.labels(model, 'reasoning'),
      spend: this.spend.labels(model),
      latency: this.latency.labels(model),
      ttft: this.ttft.labels(model),
      ok: this.requests.labels(model, '200'),
    };
  }

  observe(r: SpendRecord): void {
    const model = r.model_group || 'unknown';
    let s = this.byModel.get(model);
    if (!s) {
      s = this.seriesFor(model);
      this.byModel.set(model, s);
    }
    if (r.http_status === 200) s.ok.inc();
    else this.requests.inc({ model, status: String(r.http_status) });
    if (r.status === 'error') this.errors.inc({ model, type: r.error_type ?? 'unknown' });
    const u = r.usage;
    if (u.input > 0) s.input.inc(u.input);
    if (u.cacheRead > 0) s.cacheRead.inc(u.cacheRead);
    if (u.cacheWrite + u.cacheWrite1h > 0) s.cacheWrite.inc(u.cacheWrite + u.cacheWrite1h);
    if (u.output > 0) s.output.inc(u.output);
    if (u.reasoning > 0) s.reasoning.inc(u.reasoning);
    if (r.cost_nanos > 0) s.spend.inc(nanosToUsd(r.cost_nanos));
    s.latency.observe(r.latency_ms / 1000);
    if (r.ttft_ms !== null) s.ttft.observe(r.ttft_ms / 1000);
  }
}
