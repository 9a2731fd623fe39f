// Deployment rpm / tpm (tokens held while a call runs), strict reservations, and lowering max_tokens to fit a budget (opt-in).
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

test("deployment tpm: a call in flight holds its expected tokens on its deployment, the tokens it used replace them, a failed one gives them back", async () => {
  const body = (model: string, content: string) => ({ model, messages: [{ role: 'user', content }], max_tokens: 15 });
  const slow = '[[delay:200]] hi';
  // What a call holds: its prompt estimate (body bytes / 4) and max_tokens. One answer uses 16 tokens.
  const expected = Math.ceil(Buffer.byteLength(JSON.stringify(body('small', slow))) / 4) + 15;
  const g = await gateway(`  - model_name: small
    litellm_params: { model: openai/small, api_base: "${fake.url}", api_key: sk-a, tpm: ${expected + 20} }
  - model_name: small
    litellm_params: { model: openai/small, api_base: "${fake.url}", api_key: sk-b, tpm: ${expected + 20} }
  - model_name: failing
    litellm_params: { model: openai/small, api_base: "${fake.url}", tpm: ${expected + 3} }
`);
  const ask = (model: string, content: string) => post(g, '/chat/completions', body(model, content));
  // Each deployment has room for one call in flight, not two.
  const parallel = await Promise.all(Array.from({ length: 4 }, () => ask('small', slow)));
  assert.deepEqual(parallel.map((r) => r.status).sort(), [200, 200, 429, 429]);
  assert.equal(new Set(parallel.filter((r) => r.status === 200).map((r) => r.headers.get('x-litellm-model-id'))).size, 2);
  assert.match(parallel.find((r) => r.status === 429)!.body.error.message, /every deployment of model small is at its rpm \/ tpm/);
  // 16 used on each leave room for one more call each (16 + expected), not for a third.
  assert.deepEqual([(await ask('small', slow)).status, (await ask('small', slow)).status, (await ask('small', slow)).status], [200, 200, 429]);
  // Room for one call's hold: each failed call left the window as it found it.
  for (let i = 0; i < 3; i++) assert.equal((await ask('failing', '[[status:400]] hi')).status, 400);
  assert.equal((await ask('failing', slow)).status, 200);
});

test("deployment tpm with a key's own tpm_limit: both windows settle in one step, each getting the tokens used", async () => {
  const body = { model: 'both', messages: [{ role: 'user', content: 'hi' }], max_tokens: 15 };
  const expected = Math.ceil(Buffer.byteLength(JSON.stringify(body)) / 4) + 15;
  const g = await gateway(`  - model_name: both
    litellm_params: { model: openai/small, api_base: "${fake.url}", tpm: ${expected + 20} }
`);
  const key = (await post(g, '/key/generate', { tpm_limit: 2 * expected + 20 })).body.key;
  // 16 tokens a call: the deployment has room for a second (16 + expected), not a third.
  assert.equal((await post(g, '/chat/completions', body, key)).status, 200);
  assert.equal((await post(g, '/chat/completions', body, key)).status, 200);
  const third = await post(g, '/chat/completions', body, key);
  assert.equal(third.status, 429);
  assert.match(third.body.error.message, /every deployment of model both is at its rpm \/ tpm/);
  // The third call held its tokens in the key's window at admission and gave them back when no
  // deployment had room: the key's window has the 32 used, so a call to another model still fits.
  assert.equal((await post(g, '/chat/completions', { ...body, model: 'gpt-4' }, key)).status, 200);
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
