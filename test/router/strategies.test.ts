// Routing strategies under scripted load (latency-based prefers the faster upstream, least-busy the
// idle one, usage-based keeps to each deployment's rpm, cost-based takes the cheapest one that is up),
// simple-shuffle by rpm when no weight is given, tag filtering, model_group_alias and pre-call checks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { MASTER_KEY, startInProcess, writeConfig, type TestGateway } from '../helpers/gateway.ts';
import { startRawUpstream, type RawUpstream } from '../helpers/upstream.ts';
import { Router } from '../../src/router/router.ts';
import { loadConfig } from '../../src/config/load.ts';

/** An OpenAI chat upstream answering after `delayMs`, counting its calls. */
async function chatUpstream(delayMs: number): Promise<{ up: RawUpstream; calls: () => number }> {
  let n = 0;
  const answer = (res: ServerResponse) => {
    const body = JSON.stringify({
      id: `chatcmpl-${++n}`, object: 'chat.completion', created: 1700000000, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const up = await startRawUpstream((_req, res) => (delayMs > 0 ? setTimeout(() => answer(res), delayMs) : answer(res)));
  return { up, calls: () => n };
}

type Up = Awaited<ReturnType<typeof chatUpstream>>;
const ups: Record<string, Up> = {};
const gateways: TestGateway[] = [];

async function gateway(yaml: string): Promise<TestGateway> {
  const gw = await startInProcess(yaml);
  gateways.push(gw);
  return gw;
}

before(async () => {
  for (const [name, delay] of [['fast', 0], ['slow', 60], ['a', 0], ['b', 0], ['cheap', 0], ['dear', 0], ['busy', 150], ['idle', 0], ['eu', 0], ['us', 0], ['small', 0], ['large', 0]] as const) ups[name] = await chatUpstream(delay);
});
after(async () => {
  for (const gw of gateways) await gw.close();
  for (const u of Object.values(ups)) await u.up.close();
});

const base = (name: string) => `${ups[name]!.up.base}/v1`;

async function chat(gw: TestGateway, model: string, extra: Record<string, unknown> = {}, content = 'hi') {
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

test('latency-based-routing sends the traffic to the faster deployment (each measured first)', async () => {
  const gw = await gateway(`model_list:
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('fast')} }
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('slow')} }
router_settings:
  routing_strategy: latency-based-routing
`);
  for (let i = 0; i < 30; i++) assert.equal((await chat(gw, 'm')).status, 200);
  assert.ok(ups.slow!.calls() >= 1 && ups.slow!.calls() <= 2, `slow: ${ups.slow!.calls()} (measured once, then left)`);
  assert.ok(ups.fast!.calls() >= 28, `fast: ${ups.fast!.calls()}`);
});

test('least-busy sends concurrent calls to the deployment with the fewest in flight', async () => {
  const gw = await gateway(`model_list:
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('busy')} }
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('idle')} }
router_settings:
  routing_strategy: least-busy
`);
  // A call every 10 ms: the slow one (150 ms) keeps a call in flight once it has one, the idle one
  // answers at once, so it gets the rest.
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 20; i++) {
    calls.push(chat(gw, 'm'));
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(calls);
  assert.ok(ups.busy!.calls() <= 3 && ups.idle!.calls() >= 17, `idle ${ups.idle!.calls()}, busy ${ups.busy!.calls()}`);
});

test('usage-based-routing-v2 keeps each deployment within its rpm; simple-shuffle shares by rpm when no weight is given', async () => {
  const gw = await gateway(`model_list:
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('a')}, rpm: 30 }
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('b')}, rpm: 10 }
router_settings:
  routing_strategy: usage-based-routing-v2
`);
  for (let i = 0; i < 40; i++) assert.equal((await chat(gw, 'm')).status, 200);
  // Headroom decides: 30 and 10 this minute, each at its rpm, none over.
  assert.equal(ups.a!.calls(), 30);
  assert.equal(ups.b!.calls(), 10);
  const full = await chat(gw, 'm');
  assert.equal(full.status, 429, 'both at their rpm');
});

test('simple-shuffle: by rpm when the group gives no weight, by weight when it does', () => {
  const cfg = (extra: string) => loadConfig(writeConfig(`model_list:
  - model_name: m
    litellm_params: { model: openai/a, api_base: http://127.0.0.1:9/v1, ${extra.split('|')[0]} }
  - model_name: m
    litellm_params: { model: openai/b, api_base: http://127.0.0.1:9/v1, ${extra.split('|')[1]} }
`), {}).config.deployments;
  const share = (deployments: ReturnType<typeof cfg>) => {
    const r = new Router(deployments);
    let a = 0;
    for (let i = 0; i < 4000; i++) if (r.pick(deployments, new Set()).upstreamModel === 'a') a++;
    return a / 4000;
  };
  const byRpm = share(cfg('rpm: 900|rpm: 100'));
  assert.ok(byRpm > 0.85 && byRpm < 0.95, String(byRpm));
  const byWeight = share(cfg('rpm: 900, weight: 1|rpm: 100, weight: 3'));
  assert.ok(byWeight > 0.2 && byWeight < 0.3, String(byWeight));
  const even = share(cfg('timeout: 5|timeout: 5'));
  assert.ok(even > 0.45 && even < 0.55, String(even));
});

test('cost-based-routing takes the cheapest deployment that is up', async () => {
  const gw = await gateway(`model_list:
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('dear')}, input_cost_per_token: 0.00001, output_cost_per_token: 0.00003 }
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('cheap')}, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
router_settings:
  routing_strategy: cost-based-routing
`);
  for (let i = 0; i < 10; i++) await chat(gw, 'm');
  assert.equal(ups.cheap!.calls(), 10);
  assert.equal(ups.dear!.calls(), 0);
});

test('tag filtering: a call goes to the deployments carrying one of its tags, untagged calls to the default ones', async () => {
  const gw = await gateway(`model_list:
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('eu')}, tags: [eu, default] }
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('us')}, tags: [us] }
router_settings:
  enable_tag_filtering: true
`);
  for (let i = 0; i < 6; i++) await chat(gw, 'm', { tags: ['us'] });
  assert.equal(ups.us!.calls(), 6);
  for (let i = 0; i < 6; i++) await chat(gw, 'm', { metadata: { tags: ['eu'] } });
  for (let i = 0; i < 6; i++) await chat(gw, 'm');
  assert.equal(ups.eu!.calls(), 12, 'tagged eu, and the untagged to the default');
  assert.equal(ups.us!.calls(), 6);
  const r = await chat(gw, 'm', { tags: ['apac'] });
  assert.equal(r.status, 200, 'no match: the default ones');
});

test('model_group_alias: another name for a group, hidden ones not listed; pre-call checks skip a deployment the prompt does not fit', async () => {
  const gw = await gateway(`model_list:
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('small')} }
    model_info: { max_input_tokens: 50 }
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${base('large')} }
    model_info: { max_input_tokens: 100000 }
  - model_name: tiny
    litellm_params: { model: openai/m, api_base: ${base('small')} }
    model_info: { max_input_tokens: 50 }
router_settings:
  enable_pre_call_checks: true
  model_group_alias: { gpt-4: m, secret: { model: m, hidden: true } }
  context_window_fallbacks: [{ tiny: [m] }]
`);
  const alias = await chat(gw, 'gpt-4');
  assert.equal(alias.status, 200);
  assert.equal(alias.headers.get('x-litellm-model-group'), 'm');
  const models = ((await (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any).data.map((m: any) => m.id);
  assert.ok(models.includes('gpt-4') && !models.includes('secret'), models.join(' '));
  assert.equal((await chat(gw, 'secret')).status, 200, 'a hidden alias still serves');
  const long = 'word '.repeat(400);
  const before = ups.small!.calls();
  for (let i = 0; i < 6; i++) assert.equal((await chat(gw, 'm', {}, long)).status, 200);
  assert.equal(ups.small!.calls(), before, 'the 50-token deployment skipped');
  const fellBack = await chat(gw, 'tiny', {}, long);
  assert.equal(fellBack.status, 200);
  assert.equal(fellBack.headers.get('x-litellm-model-group'), 'm', 'to context_window_fallbacks, no call made');
  assert.equal(ups.small!.calls(), before);
  const none = await chat(gw, 'tiny', { disable_fallbacks: true }, long);
  assert.equal(none.status, 400);
  assert.match(none.body.error.message, /ContextWindowExceededError/);
});
