// Sends budget alerts where the operator pointed them: plain JSON events to WEBHOOK_URL (LiteLLM's
// webhook event), a text to SLACK_WEBHOOK_URL. Off the request path: a send is queued and retried
// in the background, a bounded number at once, and never holds up a call or shutdown for long.
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { AlertSettings } from '../config/load.ts';
import { dispatcherFor } from '../providers/http-client.ts';

/** The call that crossed a budget: its key (the hash), user, team, organization, customer. */
export interface Caller {
  token: string | null;
  key_alias: string | null;
  user_id: string | null;
  user_email: string | null;
  team_id: string | null;
  team_alias: string | null;
  organization_id: string | null;
  customer_id: string | null;
}

/** A budget alert, in the fields of LiteLLM's webhook event (USD amounts) and a few of its own. */
export interface AlertEvent extends Caller {
  event: 'budget_crossed' | 'threshold_crossed' | 'soft_budget_crossed' | 'test';
  /** Whose budget: key, internal_user, team, team_member, organization, customer, tag, proxy. */
  event_group: string;
  event_message: string;
  /** The budget's spend in its period and its limits, USD. */
  spend: number;
  max_budget: number | null;
  soft_budget: number | null;
  /** The fraction of max_budget crossed (threshold_crossed, budget_crossed); null for soft budgets. */
  threshold: number | null;
  budget_reset_at: string | null;
  /** The tag or the key's budgeted model, for those budgets. */
  tag?: string;
  model?: string;
  projected_exceeded_date: null;
  projected_spend: null;
}

const TIMEOUT_MS = 5_000;
const ATTEMPTS = 3;
/** Sends under way or waiting for a retry; past this, new alerts are logged and dropped. */
const MAX_PENDING = 200;

export class AlertSender {
  private readonly settings: AlertSettings;
  private readonly log: Logger;
  private readonly pending = new Set<Promise<void>>();
  private readonly retryMs: number;
  /** Ends the sends still under way at shutdown. */
  private readonly stop = new AbortController();

  constructor(settings: AlertSettings, log: Logger, retryMs = 1_000) {
    this.settings = settings;
    this.log = log;
    this.retryMs = retryMs;
  }

  /** The targets configured, by name. */
  targets(): { name: 'webhook' | 'slack'; url: string }[] {
    const out: { name: 'webhook' | 'slack'; url: string }[] = [];
    if (this.settings.webhookUrl) out.push({ name: 'webhook', url: this.settings.webhookUrl });
    if (this.settings.slackUrl) out.push({ name: 'slack', url: this.settings.slackUrl });
    return out;
  }

  /** Queues the event to every target; returns at once. */
  send(e: AlertEvent): void {
    for (const t of this.targets()) {
      if (this.pending.size >= MAX_PENDING) {
        this.log.warn({ event: e.event, event_group: e.event_group, target: t.name }, 'too many budget alerts waiting to be sent; this one is dropped');
        continue;
      }
      const p = this.deliver(t.name, t.url, e).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  /** Sends the event to one target now, once: whether it was taken (a 2xx). */
  async sendNow(name: 'webhook' | 'slack', e: AlertEvent): Promise<{ ok: boolean; error?: string }> {
    const t = this.targets().find((x) => x.name === name);
    if (!t) return { ok: false, error: `${name} is not configured` };
    return this.post(t.url, name === 'slack' ? slackBody(e) : e);
  }

  private async deliver(name: string, url: string, e: AlertEvent): Promise<void> {
    const body = name === 'slack' ? slackBody(e) : e;
    let last = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const r = await this.post(url, body);
      if (r.ok) return;
      last = r.error ?? '';
      // A refusal (4xx other than 429) will not change with a retry.
      if (!r.retry || this.stop.signal.aborted) break;
      if (attempt < ATTEMPTS) await sleep(this.retryMs * 4 ** (attempt - 1), undefined, { signal: this.stop.signal, ref: false }).catch(() => {});
    }
    this.log.warn({ event: e.event, event_group: e.event_group, target: name, error: last }, 'a budget alert could not be sent');
  }

  private async post(url: string, body: unknown): Promise<{ ok: boolean; retry?: boolean; error?: string }> {
    try {
      const u = new URL(url);
      const res = await request(u, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher: dispatcherFor(u.origin),
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
        signal: AbortSignal.any([AbortSignal.timeout(TIMEOUT_MS + 1_000), this.stop.signal]),
      });
      await res.body.dump();
      if (res.statusCode < 300) return { ok: true };
      return { ok: false, retry: res.statusCode >= 500 || res.statusCode === 429, error: `status ${res.statusCode}` };
    } catch (err) {
      return { ok: false, retry: true, error: (err as { code?: string }).code ?? (err as Error).name };
    }
  }

  /** Waits for the sends under way, at most `ms`, then ends those left (they are logged as not sent). */
  async drain(ms: number): Promise<void> {
    if (this.pending.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, ms)))]);
      clearTimeout(timer);
    }
    this.stop.abort();
    await Promise.allSettled([...this.pending]);
  }
}

const usd = (n: number | null) => (n === null ? '-' : `$${n.toFixed(n < 1 ? 6 : 2)}`);

/** Slack's incoming webhooks take a text. */
function slackBody(e: AlertEvent): { text: string } {
  const who = [
    e.key_alias ? `key: ${e.key_alias}` : e.token ? `key: ${e.token.slice(0, 12)}…` : null,
    e.user_id ? `user: ${e.user_id}` : null,
    e.team_id ? `team: ${e.team_alias ?? e.team_id}` : null,
    e.organization_id ? `organization: ${e.organization_id}` : null,
    e.customer_id ? `customer: ${e.customer_id}` : null,
    e.tag ? `tag: ${e.tag}` : null,
  ].filter(Boolean);
  const lines = [`*${e.event_message}*`, `spend ${usd(e.spend)} · max budget ${usd(e.max_budget)} · soft budget ${usd(e.soft_budget)}`];
  if (e.budget_reset_at) lines.push(`resets at ${e.budget_reset_at}`);
  if (who.length) lines.push(who.join(' · '));
  return { text: lines.join('\n') };
}
