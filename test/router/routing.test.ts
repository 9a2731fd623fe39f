// Load sharing, retries and fallbacks across deployments.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { Router, upstreamModelFor } from '../../src/router/router.ts';
import { loadConfig } from '../../src/config/load.ts';
import { writeConfig } from '../helpers/gateway.ts';

let a: FakeUpstream;
let b: FakeUpstream;
let gw: TestGateway;

before(async () => {
  a = await startFakeOpenAI();
  b = await startFakeOpenAI();
  gw = await startInProcess(`model_list:
  - model_name: shared
    litellm_params: { model: openai/gpt-4, api_base: ${a.url} }
  - model_name: shared
    litellm_params: { model: openai/gpt-4, api_base: ${b.url} }
  - model_name: only-a
    litellm_params: { model: openai/gpt-4, api_base: ${a.url} }
  - model_name: backup
    litellm_params: { model: openai/backup-model, api_base: ${b.url} }
  - model_name: alone
    litellm_params: { model: openai/gpt-4, api_base: ${a.url} }
router_settings:
  fallbacks: [{ "only-a": ["backup"] }]
`);
});
after(async () => {
  await gw.close();
  await a.close();
  await b.close();
});

async function chat(model: string, content: string, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
  });
  return { status: res.status, body: (await res.json()) as any, modelId: res.headers.get('x-litellm-model-id'), headers: res.headers };
}

test('two deployments of one group share its traffic', async () => {
  const ids = new Set<string>();
  for (let i = 0; i < 40; i++) ids.add((await chat('shared', `share ${i}`)).modelId!);
  assert.equal(ids.size, 2);
});

test('num_retries retries a 5xx on the other deployment of the group', async () => {
  const before = a.requests.length + b.requests.length;
  const r = await chat('shared', '[[fail-once:503]] retry me', { num_retries: 1 });
  assert.equal(r.status, 200);
  assert.equal(a.requests.length + b.requests.length, before + 2);
  const last = [a.requests.at(-1)!, b.requests.at(-1)!];
  assert.ok(last.every((x) => x.body.messages[0].content === '[[fail-once:503]] retry me'), 'one attempt on each deployment');
});

test('no retries by default: the upstream status is kept', async () => {
  const r = await chat('alone', '[[fail-once:429]] no retry');
  assert.equal(r.status, 429);
  assert.equal(r.body.error.code, 'rate_limit_exceeded');
});

test('a 400 is not retried', async () => {
  const before = a.requests.length;
  const r = await chat('only-a', '[[status:400]]', { num_retries: 3, disable_fallbacks: true });
  assert.equal(r.status, 400);
  assert.equal(a.requests.length, before + 1);
});

test('retry-after is honoured and gateway-only fields never reach the provider', async () => {
  const r = await chat('alone', '[[fail-once:429]] [[retry-after:0]] honoured', { num_retries: 2, metadata: { x: 1 }, tags: ['t'], mock_response: 'no' });
  assert.equal(r.status, 200);
  const sent = a.requests.at(-1)!.body;
  for (const f of ['metadata', 'tags', 'mock_response', 'num_retries']) assert.ok(!(f in sent), f);
});

test('fallbacks are followed when a group fails', async () => {
  const r = await chat('only-a', '[[status:503]] fall back');
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.equal(b.requests.at(-1)!.body.model, 'backup-model');
  const ok = await chat('only-a', '[[fail-once:500]] fall back once');
  assert.equal(ok.status, 200);
  assert.equal(ok.body.model, 'backup-model');
  // The headers name the group that answered, and that it took a fallback.
  assert.equal(ok.headers.get('x-litellm-model-group'), 'backup');
  assert.equal(ok.headers.get('x-litellm-attempted-fallbacks'), '1');
  const direct = await chat('only-a', 'no fallback needed');
  assert.equal(direct.headers.get('x-litellm-model-group'), 'only-a');
  assert.equal(direct.headers.get('x-litellm-attempted-fallbacks'), '0');
});

test('wildcard groups: longest prefix first, * put into the upstream name', () => {
  const { config } = loadConfig(
    writeConfig(`model_list:
  - model_name: "*"
    litellm_params: { model: "openai/*" }
  - model_name: "groq/*"
    litellm_params: { model: "groq/*" }
  - model_name: fixed
    litellm_params: { model: "openai/gpt-4o" }
`),
    {},
  );
  const router = new Router(config.deployments);
  const g = router.resolve('groq/llama-3')!;
  assert.equal(g.group, 'groq/*');
  assert.equal(upstreamModelFor(g.deployments[0]!, g.capture), 'llama-3');
  const any = router.resolve('gpt-4o-mini')!;
  assert.equal(any.group, '*');
  assert.equal(upstreamModelFor(any.deployments[0]!, any.capture), 'gpt-4o-mini');
  assert.equal(router.resolve('fixed')!.group, 'fixed');
  // A wildcard group's own name is no model: `*` must never reach the provider as one.
  assert.equal(router.resolve('groq/*'), null);
  assert.equal(router.resolve('*'), null);
});
