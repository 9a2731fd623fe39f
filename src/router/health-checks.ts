// Background health checks (general_settings.background_health_checks, health_check_interval): every
// deployment is checked that often (the same cheap call as /health), and the results feed the router
// and the health routes. A failed check rests the deployment as a failed call would (then one call
// probes it, as after any rest); a passed one ends a rest that is over. /health answers from the last
// results instead of calling every provider again, and /health/readiness names the unhealthy ones.
import type { Deployment } from '../config/load.ts';
import type { Cooldowns } from './cooldowns.ts';

export interface CheckResult {
  ok: boolean;
  error?: string;
  /** When it was checked (epoch ms). */
  at: number;
}

type Check = (d: Deployment) => Promise<{ ok: boolean; error?: string }>;

/**
 * Whether a failed check says the deployment is down (unreachable, timed out, a wrong key, a server
 * error), not only that its check did not fit it (a server without a model list answers 404 or 405; a
 * busy key 429): only then does it rest. Unhealthy either way in /health.
 */
function down(error: string | undefined): boolean {
  const status = /^status (\d{3})$/.exec(error ?? '');
  if (!status) return true;
  const n = Number(status[1]);
  return n === 401 || n >= 500;
}

export class HealthChecks {
  readonly results = new Map<string, CheckResult>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly deployments: readonly Deployment[];
  private readonly check: Check;
  private readonly cooldowns: Cooldowns;
  private readonly intervalMs: number;
  private readonly restMs: number;

  constructor(deployments: readonly Deployment[], check: Check, cooldowns: Cooldowns, intervalMs: number, restMs: number) {
    this.deployments = deployments;
    this.check = check;
    this.cooldowns = cooldowns;
    this.intervalMs = intervalMs;
    this.restMs = restMs;
  }

  /** Checks every deployment now, then every interval (never two rounds at once). */
  start(): void {
    const round = () => {
      this.running = this.runOnce().finally(() => {
        this.running = null;
        if (!this.stopped) {
          this.timer = setTimeout(round, this.intervalMs);
          this.timer.unref();
        }
      });
    };
    round();
  }

  /** One round: every deployment checked at once, each result applied as it comes. */
  async runOnce(): Promise<void> {
    await Promise.all(
      this.deployments.map(async (d) => {
        const r = await this.check(d).catch((err: Error) => ({ ok: false, error: err.message }));
        const now = Date.now();
        this.results.set(d.id, { ...r, at: now });
        if (r.ok) this.cooldowns.succeeded(d.id, now);
        else if (down(r.error)) this.cooldowns.restFor(d.id, now + this.restMs);
      }),
    );
  }

  /** Whether a first round has results for every deployment. */
  get complete(): boolean {
    return this.results.size >= this.deployments.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
