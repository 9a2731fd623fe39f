// Deployments cooling down, as LiteLLM's router does it: a deployment whose calls fail (429, 5xx,
// timeouts, unreachable) more than `allowed_fails` times in a minute, or that answers 429, is left
// out of its group's picks for `cooldown_time`. A group of one deployment is never cooled down (the
// only way left is that one). With Redis, a cooldown one instance starts holds on all of them.

/** How long a deployment rests, and after how many failures in a minute. */
export interface CooldownSettings {
  allowedFails: number;
  cooldownMs: number;
  disabled: boolean;
}

export class Cooldowns {
  private readonly settings: CooldownSettings;
  /** Until when each cooling deployment rests (epoch ms). */
  private readonly until = new Map<string, number>();
  private readonly fails = new Map<string, { minute: number; n: number }>();
  /** Tells the other instances (Redis); set once the shared counters are up. */
  share: ((id: string, until: number) => void) | null = null;

  constructor(settings: CooldownSettings) {
    this.settings = settings;
  }

  /** Whether the deployment rests now. */
  cooling(id: string, now: number): boolean {
    const u = this.until.get(id);
    if (u === undefined) return false;
    if (u > now) return true;
    this.until.delete(id);
    return false;
  }

  /** When the first of these deployments is back (epoch ms). */
  nextBack(ids: string[]): number {
    return Math.min(...ids.map((id) => this.until.get(id) ?? 0));
  }

  /**
   * A call to the deployment failed: `status` is the provider's (null: unreachable or timed out),
   * `retryAfterMs` what it asked for. `groupSize`: deployments in its group.
   */
  failed(id: string, groupSize: number, status: number | null, retryAfterMs: number | null, now: number): void {
    if (this.settings.disabled || groupSize <= 1) return;
    const minute = Math.floor(now / 60_000);
    const f = this.fails.get(id);
    const n = f && f.minute === minute ? f.n + 1 : 1;
    this.fails.set(id, { minute, n });
    if (status === 429 || n > this.settings.allowedFails) {
      this.fails.delete(id);
      this.rest(id, now + Math.max(this.settings.cooldownMs, Math.min(retryAfterMs ?? 0, 60_000)));
    }
  }

  /** Rests a deployment until then (here, and on the other instances unless it came from one). */
  rest(id: string, until: number, fromPeer = false): void {
    if (until <= (this.until.get(id) ?? 0)) return;
    this.until.set(id, until);
    if (!fromPeer) this.share?.(id, until);
  }
}
