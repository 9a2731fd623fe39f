// What the routing strategies go by, per deployment: calls in flight (least-busy), latency
// (latency-based-routing: the whole answer for plain calls, the first byte for streams, a failure
// counted as slow as its deadline), and the requests and tokens of the current minute
// (usage-based-routing). Kept only when the strategy needs them: the default pick reads none.

/** How much a new latency moves the average: about the last ten calls count. */
const ALPHA = 0.2;

export class DeploymentStats {
  private readonly busy = new Map<string, number>();
  private readonly latencies = new Map<string, number>();
  private readonly usage = new Map<string, { minute: number; requests: number; tokens: number }>();

  begin(id: string): void {
    this.busy.set(id, (this.busy.get(id) ?? 0) + 1);
  }

  end(id: string): void {
    const n = (this.busy.get(id) ?? 1) - 1;
    if (n <= 0) this.busy.delete(id);
    else this.busy.set(id, n);
  }

  inFlight(id: string): number {
    return this.busy.get(id) ?? 0;
  }

  /** A call's latency (ms). */
  latency(id: string, ms: number): void {
    const was = this.latencies.get(id);
    this.latencies.set(id, was === undefined ? ms : was + ALPHA * (ms - was));
  }

  /** The average latency (ms); 0 for a deployment not measured yet (so that it is tried, as LiteLLM does). */
  latencyOf(id: string): number {
    return this.latencies.get(id) ?? 0;
  }

  /** A call answered with this many tokens (prompt and output). */
  used(id: string, tokens: number, now: number): void {
    const minute = Math.floor(now / 60_000);
    const u = this.usage.get(id);
    if (u && u.minute === minute) {
      u.requests++;
      u.tokens += tokens;
    } else this.usage.set(id, { minute, requests: 1, tokens });
  }

  /** Requests and tokens of the current minute. */
  usageOf(id: string, now: number): { requests: number; tokens: number } {
    const u = this.usage.get(id);
    return u && u.minute === Math.floor(now / 60_000) ? u : { requests: 0, tokens: 0 };
  }
}
