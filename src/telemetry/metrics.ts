// Prometheus metrics. Labels stay low-cardinality: model group and status, never key or user ids.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SpendRecord } from '../metering/record.ts';
import { nanosToUsd } from '../metering/money.ts';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * One model group's counts not yet handed to prom-client (which hashes its labels on every call, a
 * cost on each LLM call), and its histograms.
 */
interface ModelSeries {
  latency: Histogram.Internal<'model'>;
  ttft: Histogram.Internal<'model'>;
  ok: number;
  input: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
  spendNanos: number;
}

const TOKEN_KINDS = [
  ['input', 'input'],
  ['cacheRead', 'cache_read'],
  ['cacheWrite', 'cache_write'],
  ['output', 'output'],
  ['reasoning', 'reasoning'],
] as const;

export class Metrics {
  readonly registry = new Registry();
  private readonly byModel = new Map<string, ModelSeries>();
  // prom-client calls collect() before reading a counter; these three share one hand-over.
  private readonly requests = new Counter({ name: 'llmproxy_requests_total', help: 'LLM calls by model group and HTTP status', labelNames: ['model', 'status'] as const, registers: [this.registry], collect: () => this.handOver() });
  private readonly errors = new Counter({ name: 'llmproxy_errors_total', help: 'LLM calls that failed, by model group and error type', labelNames: ['model', 'type'] as const, registers: [this.registry] });
  private readonly tokens = new Counter({ name: 'llmproxy_tokens_total', help: 'Tokens by model group and kind (input, cache_read, cache_write, output, reasoning)', labelNames: ['model', 'kind'] as const, registers: [this.registry], collect: () => this.handOver() });
  private readonly spend = new Counter({ name: 'llmproxy_spend_usd_total', help: 'Spend in USD by model group', labelNames: ['model'] as const, registers: [this.registry], collect: () => this.handOver() });
  private readonly latency = new Histogram({ name: 'llmproxy_request_duration_seconds', help: 'Whole call duration', labelNames: ['model'] as const, buckets: SECONDS, registers: [this.registry] });
  private readonly alerts = new Counter({ name: 'llmproxy_budget_alerts_total', help: 'Budget alerts fired by this instance, by event and whose budget (event_group)', labelNames: ['event', 'event_group'] as const, registers: [this.registry] });
  private readonly ttft = new Histogram({ name: 'llmproxy_time_to_first_token_seconds', help: 'Time to the first byte of the answer', labelNames: ['model'] as const, buckets: SECONDS, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'llmproxy_' });
  }

  private handOver(): void {
    for (const [model, p] of this.byModel) {
      if (p.ok > 0) this.requests.inc({ model, status: '200' }, p.ok);
      for (const [field, kind] of TOKEN_KINDS) if (p[field] > 0) this.tokens.inc({ model, kind }, p[field]);
      if (p.spendNanos > 0) this.spend.inc({ model }, nanosToUsd(p.spendNanos));
      p.ok = p.input = p.cacheRead = p.cacheWrite = p.output = p.reasoning = p.spendNanos = 0;
    }
  }

  alert(event: string, group: string): void {
    this.alerts.inc({ event, event_group: group });
  }

  observe(r: SpendRecord): void {
    const model = r.model_group || 'unknown';
    let p = this.byModel.get(model);
    if (!p) {
      p = { latency: this.latency.labels(model), ttft: this.ttft.labels(model), ok: 0, input: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0, spendNanos: 0 };
      this.byModel.set(model, p);
    }
    if (r.http_status === 200) p.ok++;
    else this.requests.inc({ model, status: String(r.http_status) });
    if (r.status === 'error') this.errors.inc({ model, type: r.error_type ?? 'unknown' });
    const u = r.usage;
    p.input += u.input;
    p.cacheRead += u.cacheRead;
    p.cacheWrite += u.cacheWrite + u.cacheWrite1h;
    p.output += u.output;
    p.reasoning += u.reasoning;
    p.spendNanos += r.cost_nanos;
    p.latency.observe(r.latency_ms / 1000);
    if (r.ttft_ms !== null) p.ttft.observe(r.ttft_ms / 1000);
  }
}
