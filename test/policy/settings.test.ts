// Deployment rpm / tpm, strict reservations, and lowering max_tokens to fit a budget (opt-in).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
const gateways: TestGateway[] = [];

before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  for (const g of gateways) await g.close();
  await fake.close();
});

async function gateway(extra: string): Promise<TestGateway> {
  const g = await startInProcess(`model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: "${fake.url}", input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, rpm: 2 }
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: "${fake.url}", input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, rpm: 1 }
${extra}`);
  gateways.push(g);
  return g;
}

async function post(g: TestGateway, path: string, body: unknown, key = MASTER_KEY) {
  const res = await fetch(`${g.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

test('deployment rpm: traffic goes to deployments with room; when none has any, 429 with retry-after', async () => {
  const g = await gateway('');
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const r = await post(g, '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200);
    ids.push(r.headers.get('x-litellm-model-id'));
  }
  assert.equal(new Set(ids).size, 2);
  const r = await post(g, '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
});

test("deployment tpm: a deployment whose window is full gets no more calls, and the call's tokens count after it ends", async () => {
  const g = await gateway(`  - model_name: small
    litellm_params: { model: openai/small, api_base: "${fake.url}", tpm: 20 }
`);
  const ask = () => post(g, '/chat/completions', { model: 'small', messages: [{ role: 'user', content: 'hi' }] });
  // One answer is 16 tokens: the window has room for a first (0 of 20 used) and a second (16), not a third.
  assert.equal((await ask()).status, 200);
  assert.equal((await ask()).status, 200);
  const r = await ask();
  assert.equal(r.status, 429);
  assert.match(r.body.error.message, /every deployment of model small is at its rpm \/ tpm/);
});

test('lower_max_tokens_to_fit_budget: max_tokens is lowered to what the budget pays for, never with reasoning parameters', async () => {
  const g = await gateway('general_settings:\n  lower_max_tokens_to_fit_budget: true\n');
  // Room for the prompt estimate and about 10 output tokens.
  const key = (await post(g, '/key/generate', { max_budget: 50_000 / 1e9 })).body.key;
  const r = await post(g, '/chat/completions', { model: 'gpt-4', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] }, key);
  assert.equal(r.status, 200);
  const sent = fake.requests.at(-1)!.body;
  assert.ok(sent.max_tokens < 1000 && sent.max_tokens >= 1, `max_tokens sent: ${sent.max_tokens}`);
  const key2 = (await post(g, '/key/generate', { max_budget: 50_000 / 1e9 })).body.key;
  const refused = await post(g, '/chat/completions', { model: 'gpt-4', max_tokens: 1000, reasoning_effort: 'high', messages: [{ role: 'user', content: 'hi' }] }, key2);
  assert.equal(refused.status, 429);
});

test('strict_budget_reservations: a stream with a huge max_tokens reserves all of it', async () => {
  const strict = await gateway('general_settings:\n  strict_budget_reservations: true\n');
  const lax = await gateway('');
  for (const [g, expected] of [[strict, 429], [lax, 200]] as const) {
    // One answer teaches the gateway how long this model's answers are (cold, it assumes 4,096 tokens).
    await post(g, '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: 'warm up' }] });
    const key = (await post(g, '/key/generate', { max_budget: 1_000_000 / 1e9 })).body.key;
    const res = await fetch(`${g.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-4', stream: true, max_tokens: 128_000, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.text();
    assert.equal(res.status, expected);
  }
});
