// What the routing strategies go by, per deployment: calls in flight (least-busy), latency
// (latency-based-routing: the whole answer for plain calls, the first byte for streams, a failure
// counted as slow as its deadline), and the requests and tokens of the current minute
// (usage-based-routing). Kept only when the strategy needs them: the default pick reads none. With
// Redis, each instance publishes its own every second and reads the others' (`peers`): the picks go by
// every instance's calls, a second late at most, without a round trip per call.

/** How much a new latency moves the average: about the last ten calls count. */
const ALPHA = 0.2;

/** One instance's measures, as it publishes them. */
export interface StatsSnapshot {
  busy: Record<string, number>;
  latency: Record<string, number>;
  minute: number;
  usage: Record<string, [requests: number, tokens: number]>;
}

export class DeploymentStats {
  private readonly busy = new Map<string, number>();
  private readonly latencies = new Map<string, number>();
  private readonly usage = new Map<string, { minute: number; requests: number; tokens: number }>();
  /** The other instances' measures together (their last snapshots). */
  private peerBusy = new Map<string, number>();
  private peerLatency = new Map<string, { sum: number; n: number }>();
  private peerUsage = new Map<string, { minute: number; requests: number; tokens: number }>();

  /** This instance's measures, for the others. */
  snapshot(now: number): StatsSnapshot {
    const minute = Math.floor(now / 60_000);
    const usage: StatsSnapshot['usage'] = {};
    for (const [id, u] of this.usage) if (u.minute === minute) usage[id] = [u.requests, u.tokens];
    return { busy: Object.fromEntries(this.busy), latency: Object.fromEntries(this.latencies), minute, usage };
  }

  /** The other instances' last snapshots (replacing the ones before). */
  peers(snapshots: StatsSnapshot[]): void {
    const busy = new Map<string, number>();
    const latency = new Map<string, { sum: number; n: number }>();
    const usage = new Map<string, { minute: number; requests: number; tokens: number }>();
    for (const s of snapshots) {
      for (const [id, n] of Object.entries(s.busy ?? {})) if (Number.isFinite(n)) busy.set(id, (busy.get(id) ?? 0) + n);
      for (const [id, ms] of Object.entries(s.latency ?? {})) {
        if (!Number.isFinite(ms)) continue;
        const l = latency.get(id) ?? { sum: 0, n: 0 };
        l.sum += ms;
        l.n++;
        latency.set(id, l);
      }
      for (const [id, pair] of Object.entries(s.usage ?? {})) {
        if (!Array.isArray(pair)) continue;
        const u = usage.get(id);
        if (u && u.minute === s.minute) {
          u.requests += Number(pair[0]) || 0;
          u.tokens += Number(pair[1]) || 0;
        } else if (!u || s.minute > u.minute) usage.set(id, { minute: s.minute, requests: Number(pair[0]) || 0, tokens: Number(pair[1]) || 0 });
      }
    }
    this.peerBusy = busy;
    this.peerLatency = latency;
    this.peerUsage = usage;
  }

  /** A call goes to the deployment: in flight, and one of this minute's requests (its tokens come when it ends). */
  begin(id: string, now = Date.now()): void {
    this.busy.set(id, (this.busy.get(id) ?? 0) + 1);
    this.add(id, 1, 0, now);
  }

  private add(id: string, requests: number, tokens: number, now: number): void {
    const minute = Math.floor(now / 60_000);
    const u = this.usage.get(id);
    if (u && u.minute === minute) {
      u.requests += requests;
      u.tokens += tokens;
    } else this.usage.set(id, { minute, requests, tokens });
  }

  end(id: string): void {
    const n = (this.busy.get(id) ?? 1) - 1;
    if (n <= 0) this.busy.delete(id);
    else this.busy.set(id, n);
  }

  inFlight(id: string): number {
    return (this.busy.get(id) ?? 0) + (this.peerBusy.get(id) ?? 0);
  }

  /** A call's latency (ms). */
  latency(id: string, ms: number): void {
    const was = this.latencies.get(id);
    this.latencies.set(id, was === undefined ? ms : was + ALPHA * (ms - was));
  }

  /** The average latency (ms); 0 for a deployment not measured yet (so that it is tried, as LiteLLM does). */
  latencyOf(id: string): number {
    const own = this.latencies.get(id);
    const peer = this.peerLatency.get(id);
    if (!peer) return own ?? 0;
    // (every instance's average counts alike)
    return own === undefined ? peer.sum / peer.n : (own + peer.sum) / (peer.n + 1);
  }

  /** A call ended having used this many tokens (prompt and output). */
  used(id: string, tokens: number, now: number): void {
    this.add(id, 0, tokens, now);
  }

  /** Requests and tokens of the current minute. */
  usageOf(id: string, now: number): { requests: number; tokens: number } {
    const minute = Math.floor(now / 60_000);
    const u = this.usage.get(id);
    const p = this.peerUsage.get(id);
    const own = u && u.minute === minute ? u : null;
    const peer = p && p.minute === minute ? p : null;
    if (!peer) return own ?? { requests: 0, tokens: 0 };
    return { requests: (own?.requests ?? 0) + peer.requests, tokens: (own?.tokens ?? 0) + peer.tokens };
  }
}
