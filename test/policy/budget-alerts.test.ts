// Budget alerts: crossing a soft budget or a threshold of max_budget (configured in percent), and a
// hard budget refusing what it can no longer pay for, each fire once per budget period: a log line, a
// metric and a webhook event in LiteLLM's shape; a webhook that fails or hangs never slows a call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver.ts';
import { call, okCall, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { loadConfig } from '../../src/config/load.ts';
import { writeConfig } from '../helpers/gateway.ts';

// 1 $/MTok in, 2 $/MTok out; one answer: 1 prompt token (the fake counts words) + 15 output tokens.
const ANSWER = 1 * 1000 + 15 * 2000;
const config = (upstream: string, hook: string, extra = '') => `model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: "${upstream}", input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
general_settings:
  alerting: ["webhook"]
  alerting_args:
    budget_alert_thresholds: [50, 80, 100]
${extra}environment_variables:
  WEBHOOK_URL: "${hook}"
`;

let fake: FakeUpstream;
let hook: WebhookReceiver;
let gw: TestGateway;

before(async () => {
  fake = await startFakeOpenAI();
  hook = await startWebhookReceiver();
  gw = await startInProcess(config(fake.url, hook.url), { alertRetryMs: 20 });
});
after(async () => {
  await gw.close();
  await hook.close();
  await fake.close();
});

const ok = (path: string, body: unknown) => okCall(gw.url, 'POST', path, body);
async function chat(key: string, g = gw) {
  const res = await fetch(`${g.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], max_tokens: 15 }),
  });
  await res.text();
  return res.status;
}
/** The events about one budget owner so far, after the alerts in the background had time to arrive. */
async function eventsOf(pick: (e: any) => boolean, n: number): Promise<any[]> {
  for (let i = 0; i < 100 && hook.events.filter(pick).length < n; i++) await new Promise((r) => setTimeout(r, 20));
  // Anything more would have come by now.
  await new Promise((r) => setTimeout(r, 150));
  return hook.events.filter(pick).sort((a, b) => a.spend - b.spend);
}

describe('budget alerts', () => {
  test("a key's soft budget, its thresholds and its exhaustion each fire once, in LiteLLM's event shape", async () => {
    // Fits 10 answers; soft budget after 4; 50 % after 5, 80 % after 8; the 10th cannot be paid.
    const k = await ok('/key/generate', { key_alias: 'alerted', max_budget: (10 * ANSWER) / 1e9, soft_budget: 0.0001, user_id: 'alert-user' });
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push(await chat(k.key));
    assert.deepEqual(statuses, [...Array(9).fill(200), 429, 429, 429, 429]);
    const events = await eventsOf((e) => e.token === k.token, 4);
    assert.deepEqual(
      events.map((e) => [e.event, e.threshold, Math.round(e.spend * 1e9)]),
      [
        ['soft_budget_crossed', null, 4 * ANSWER],
        ['threshold_crossed', 0.5, 5 * ANSWER],
        ['threshold_crossed', 0.8, 8 * ANSWER],
        ['budget_crossed', 1, 9 * ANSWER],
      ],
    );
    for (const e of events) {
      assert.equal(e.event_group, 'key');
      assert.equal(e.key_alias, 'alerted');
      assert.equal(e.user_id, 'alert-user');
      assert.equal(e.max_budget, (10 * ANSWER) / 1e9);
      assert.equal(e.soft_budget, 0.0001);
      assert.equal(e.team_id, null);
      assert.equal(e.projected_spend, null);
      assert.match(e.event_message, /^Budget alert, Key=alerted: /);
    }
    assert.match(events[3].event_message, /max budget of \$0.00031 reached \(\$0.000279 spent\)/);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /llmproxy_budget_alerts_total\{event="threshold_crossed",event_group="key"\} 2/);
    assert.match(metrics, /llmproxy_budget_alerts_total\{event="soft_budget_crossed",event_group="key"\} 1/);
  });

  test("a team with only a soft budget is watched: crossing it fires once, calls go on", async () => {
    await ok('/team/new', { team_id: 'soft-team', team_alias: 'Soft', soft_budget: 0.00005 });
    const k = await ok('/key/generate', { team_id: 'soft-team' });
    for (let i = 0; i < 5; i++) assert.equal(await chat(k.key), 200);
    const events = await eventsOf((e) => e.event_group === 'team' && e.team_id === 'soft-team', 1);
    assert.equal(events.length, 1);
    assert.equal(events[0].event, 'soft_budget_crossed');
    assert.equal(events[0].max_budget, null);
    assert.equal(events[0].team_alias, 'Soft');
    assert.equal(Math.round(events[0].spend * 1e9), 2 * ANSWER);
    assert.match(events[0].event_message, /^Budget alert, Team=soft-team: soft budget of \$0.00005 crossed/);
  });

  test("a tag's and an organization's budgets alert as theirs", async () => {
    await ok('/tag/new', { name: 'alerted-project', max_budget: (4 * ANSWER) / 1e9 });
    await ok('/organization/new', { organization_id: 'alerted-org', organization_alias: 'A', max_budget: (100 * ANSWER) / 1e9, soft_budget: (ANSWER * 1.5) / 1e9 });
    const k = await ok('/key/generate', { tags: ['alerted-project'], organization_id: 'alerted-org' });
    for (let i = 0; i < 2; i++) assert.equal(await chat(k.key), 200);
    const tag = await eventsOf((e) => e.event_group === 'tag', 1);
    assert.deepEqual(tag.map((e) => [e.event, e.threshold, e.tag]), [['threshold_crossed', 0.5, 'alerted-project']]);
    const org = await eventsOf((e) => e.event_group === 'organization', 1);
    assert.deepEqual(org.map((e) => [e.event, e.organization_id, e.soft_budget]), [['soft_budget_crossed', 'alerted-org', (ANSWER * 1.5) / 1e9]]);
  });

  test('a new budget period fires the same thresholds again', async () => {
    const k = await ok('/key/generate', { max_budget: (4 * ANSWER) / 1e9, budget_duration: '2s' });
    for (let i = 0; i < 2; i++) assert.equal(await chat(k.key), 200);
    const first = await eventsOf((e) => e.token === k.token, 1);
    assert.deepEqual(first.map((e) => [e.event, e.threshold]), [['threshold_crossed', 0.5]]);
    const resetAt = Date.parse(first[0].budget_reset_at);
    while (Date.now() < resetAt + 300) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 40; i++) {
      const info = await okCall(gw.url, 'GET', `/key/info?key=${k.token}`);
      if (Date.parse(info.info.budget_reset_at) > resetAt) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 2; i++) assert.equal(await chat(k.key), 200);
    const both = await eventsOf((e) => e.token === k.token, 2);
    assert.deepEqual(both.map((e) => [e.event, e.threshold]), [['threshold_crossed', 0.5], ['threshold_crossed', 0.5]]);
    assert.ok(Date.parse(both[1].budget_reset_at) > resetAt || Date.parse(both[0].budget_reset_at) > resetAt);
  });

  test('a webhook answering 500 gets the alert again; GET /health/services sends a test event', async () => {
    hook.failNext(2);
    const k = await ok('/key/generate', { max_budget: (4 * ANSWER) / 1e9 });
    for (let i = 0; i < 2; i++) assert.equal(await chat(k.key), 200);
    const events = await eventsOf((e) => e.token === k.token, 1);
    assert.equal(events.length, 1, 'sent once it was taken, and only once');
    const r = await okCall(gw.url, 'GET', '/health/services?service=webhook');
    assert.equal(r.status, 'success');
    assert.equal(hook.events.at(-1).event, 'test');
    const bad = await call(gw.url, 'GET', '/health/services?service=slack');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, 'service');
    assert.match(bad.body.error.message, /SLACK_WEBHOOK_URL/);
  });
});

describe('a webhook that never answers', () => {
  test('calls are as quick as ever and shutdown waits for it at most 2 s', async () => {
    const silent = await startWebhookReceiver();
    silent.hang();
    const g = await startInProcess(config(fake.url, silent.url), { alertRetryMs: 20 });
    try {
      const k = await okCall(g.url, 'POST', '/key/generate', { max_budget: (2 * ANSWER) / 1e9 });
      const t0 = performance.now();
      // Every call after the first crosses 50 %, 80 % or the end of the budget.
      for (let i = 0; i < 4; i++) await chat(k.key, g);
      assert.ok(performance.now() - t0 < 1_000, `4 calls took ${performance.now() - t0} ms`);
    } finally {
      const t1 = performance.now();
      await g.close();
      assert.ok(performance.now() - t1 < 4_000, `close took ${performance.now() - t1} ms`);
      await silent.close();
    }
  });
});

describe('alerting settings', () => {
  const load = (yaml: string, env: Record<string, string> = {}) => loadConfig(writeConfig(yaml), env);
  test("LiteLLM's names: alerting, WEBHOOK_URL / SLACK_WEBHOOK_URL, alert_types; thresholds in percent", () => {
    const { config: c } = load('general_settings:\n  alerting: ["webhook", "slack"]\n', { WEBHOOK_URL: 'https://hooks.example/a', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/x' });
    assert.deepEqual(c.alerts, { webhookUrl: 'https://hooks.example/a', slackUrl: 'https://hooks.slack.com/x', thresholds: [0.85, 0.95, 1] });
    assert.equal(load('general_settings:\n  alerting: ["webhook"]\n  alert_types: ["llm_exceptions"]\n').config.alerts, null);
    assert.equal(load('general_settings: {}\n').config.alerts, null);
    const t = load('general_settings:\n  alerting: ["webhook"]\n  alerting_args:\n    budget_alert_thresholds: [80, 50, 100, 80]\n    budget_alert_ttl: 86400\n', { WEBHOOK_URL: 'http://x' });
    assert.deepEqual(t.config.alerts!.thresholds, [0.5, 0.8, 1]);
  });
  test('what cannot be done is said at start', () => {
    const w = load('general_settings:\n  alerting: ["webhook", "email"]\n').warnings.join('\n');
    assert.match(w, /"webhook" needs WEBHOOK_URL/);
    assert.match(w, /"email" is not supported/);
    assert.match(load('general_settings:\n  alerting: ["webhook"]\n', { WEBHOOK_URL: 'file:///etc/passwd' }).warnings.join('\n'), /WEBHOOK_URL is not an http\(s\) URL/);
    assert.throws(() => load('general_settings:\n  alerting: ["webhook"]\n  alerting_args:\n    budget_alert_thresholds: [150]\n'), /budget_alert_thresholds\[0\]: must be 100/);
  });
});
