// azure/ deployments, through the official OpenAI and Anthropic SDKs as clients: a dated API version
// (/openai/deployments/{deployment}/...?api-version=...) and the v1 API (/openai/v1/..., the body's
// model naming the deployment), Azure's api-key header and never a bearer token, LiteLLM's config names
// and environment variables; chat, streaming with usage, embeddings, and spend recorded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeEntra } from '../fakes/entra-token.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, spawnGateway, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';
import { AZURE_DEFAULT_API_VERSION } from '../../src/providers/azure/target.ts';

const KEY = 'azure-key-123';
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOi.entra.token';
let azure: FakeUpstream;
let resource: string;
let gw: TestGateway;
let fromEnv: TestGateway;

before(async () => {
  azure = await startFakeOpenAI({ azureKey: KEY, azureToken: TOKEN });
  resource = azure.url.replace(/\/v1$/, '');
  gw = await startInProcess(`model_list:
  - model_name: gpt-4o
    litellm_params: { model: azure/my-gpt-4o, api_base: "${resource}/", api_key: ${KEY}, api_version: "2024-10-21", input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: gpt-4o-v1
    litellm_params: { model: azure/my-gpt-4o, api_base: "${resource}", api_key: ${KEY}, api_version: v1 }
  - model_name: embed
    litellm_params: { model: azure/my-embedding, api_base: "${resource}", api_key: ${KEY}, api_version: "2024-10-21" }
`);
});
after(async () => {
  await gw.close();
  await fromEnv?.close();
  await azure.close();
});

const client = (g: TestGateway) => new OpenAI({ apiKey: MASTER_KEY, baseURL: g.url, maxRetries: 0 });

test('a dated API version: the deployment in the path, api-version in the query, the key in api-key', async () => {
  // (a credential in the body is the gateway's to drop: it never reaches Azure)
  const r = await client(gw).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], azure_ad_token: 'client-token' } as never);
  assert.match(r.choices[0]!.message.content!, /fake model/);
  const sent = azure.requests.at(-1)!;
  assert.equal(sent.body.azure_ad_token, undefined);
  assert.equal(sent.path, '/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21');
  assert.equal(sent.headers['api-key'], KEY);
  assert.equal(sent.headers.authorization, undefined, 'the key never goes as a bearer token');
  // Metered as any other call: 1 prompt token, 15 output tokens at the configured prices.
  assert.equal(r.usage!.total_tokens, 16);
});

test('streamed: frame by frame, with the usage chunk asked for', async () => {
  const { data: stream, response } = await client(gw).chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  const callId = response.headers.get('x-litellm-call-id');
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.match(text, /fake model/);
  const sent = azure.requests.at(-1)!;
  assert.equal(sent.path, '/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21');
  assert.deepEqual(sent.body.stream_options, { include_usage: true });
  // The ledger writes in batches: this call's record, once it is there.
  let last: any;
  for (let i = 0; i < 50 && !last; i++) {
    const logs = (await (await fetch(`${gw.url}/spend/logs?page_size=50`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
    last = logs.data.find((l: any) => l.request_id === callId);
    if (!last) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(last, `no record of ${callId}`);
  assert.equal(last.model_group, 'gpt-4o');
  assert.equal(last.custom_llm_provider, 'azure');
  assert.equal(Math.round(last.spend * 1e9), 1 * 1000 + 15 * 2000);
});

test('the v1 API: /openai/v1/..., the model in the body naming the deployment', async () => {
  await client(gw).chat.completions.create({ model: 'gpt-4o-v1', messages: [{ role: 'user', content: 'hi' }] });
  const sent = azure.requests.at(-1)!;
  assert.equal(sent.path, '/openai/v1/chat/completions');
  assert.equal(sent.body.model, 'my-gpt-4o');
  assert.equal(sent.headers['api-key'], KEY);
});

test("/health checks each Azure deployment at its resource's model list, with its key", async () => {
  const res = await fetch(`${gw.url}/health`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  const health = (await res.json()) as any;
  assert.equal(health.unhealthy_count, 0, JSON.stringify(health.unhealthy_endpoints));
  assert.equal(health.healthy_count, 3);
  const probes = azure.requests.filter((r) => r.path.includes('models')).map((r) => r.path);
  assert.ok(probes.includes('/openai/models?api-version=2024-10-21'), probes.join(' '));
  assert.ok(probes.includes('/openai/v1/models'), probes.join(' '));
});

test('embeddings go to the deployment too', async () => {
  const r = await client(gw).embeddings.create({ model: 'embed', input: ['a', 'b'] });
  assert.equal(r.data.length, 2);
  assert.equal(azure.requests.at(-1)!.path, '/openai/deployments/my-embedding/embeddings?api-version=2024-10-21');
});

test("an Anthropic client reaches an Azure deployment, translated both ways", async () => {
  const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
  const m = await anthropic.messages.create({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(m.type, 'message');
  assert.match((m.content[0] as { text: string }).text, /fake model/);
  assert.equal(azure.requests.at(-1)!.path, '/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21');
});

test("Azure's content filter: LiteLLM's ContentPolicyViolationError, 400, the filter's results kept; never retried", async () => {
  const before = azure.requests.length;
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: '[[content-filter]] something' }] }),
  });
  assert.equal(res.status, 400);
  const { error } = (await res.json()) as any;
  assert.match(error.message, /^litellm\.ContentPolicyViolationError: azure error \(model gpt-4o\): The response was filtered/);
  assert.equal(error.code, '400');
  assert.equal(error.provider_specific_fields.innererror.code, 'ResponsibleAIPolicyViolation');
  assert.deepEqual(error.provider_specific_fields.innererror.content_filter_result.violence, { filtered: true, severity: 'medium' });
  assert.equal(azure.requests.length, before + 1, 'a refusal is not retried');
  // An Anthropic client gets it in its own envelope.
  const anthropic = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'gpt-4o', max_tokens: 20, messages: [{ role: 'user', content: '[[content-filter]] something' }] }),
  });
  assert.equal(anthropic.status, 400);
  const a = (await anthropic.json()) as any;
  assert.equal(a.type, 'error');
  assert.equal(a.error.type, 'invalid_request_error');
  assert.match(a.error.message, /ContentPolicyViolationError/);
});

test('a Microsoft Entra ID token (azure_ad_token) goes as a bearer token, and never into /model/info', async () => {
  const entra = await startInProcess(`model_list:
  - model_name: gpt-4o
    litellm_params: { model: azure/my-gpt-4o, api_base: "${resource}", azure_ad_token: "${TOKEN}", api_version: "2024-10-21" }
`);
  try {
    await client(entra).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    const sent = azure.requests.at(-1)!;
    assert.equal(sent.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(sent.headers['api-key'], undefined);
    const info = await (await fetch(`${entra.url}/model/info`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
    assert.ok(!info.includes(TOKEN), 'the token is a secret');
  } finally {
    await entra.close();
  }
});

test('a wrong key is the provider\'s 401, in the client\'s envelope', async () => {
  const bad = await startInProcess(`model_list:
  - model_name: gpt-4o
    litellm_params: { model: azure/my-gpt-4o, api_base: "${resource}", api_key: wrong, api_version: "2024-10-21" }
`);
  try {
    await assert.rejects(client(bad).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), (err: any) => err.status === 401);
  } finally {
    await bad.close();
  }
});

test("LiteLLM's environment variables: AZURE_API_KEY, AZURE_API_BASE, AZURE_API_VERSION; without a version, the default", async () => {
  process.env.AZURE_API_KEY = KEY;
  process.env.AZURE_API_BASE = resource;
  process.env.AZURE_API_VERSION = '2025-01-01-preview';
  try {
    fromEnv = await startInProcess(`model_list:
  - model_name: from-env
    litellm_params: { model: azure/env-deployment }
`);
  } finally {
    delete process.env.AZURE_API_VERSION;
  }
  await client(fromEnv).chat.completions.create({ model: 'from-env', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(azure.requests.at(-1)!.path, '/openai/deployments/env-deployment/chat/completions?api-version=2025-01-01-preview');
  const noVersion = await startInProcess(`model_list:
  - model_name: default-version
    litellm_params: { model: azure/d }
`);
  try {
    await client(noVersion).chat.completions.create({ model: 'default-version', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(azure.requests.at(-1)!.path, `/openai/deployments/d/chat/completions?api-version=${AZURE_DEFAULT_API_VERSION}`);
  } finally {
    delete process.env.AZURE_API_KEY;
    delete process.env.AZURE_API_BASE;
    await noVersion.close();
  }
});

test('Entra ID client credentials (tenant_id, client_id, client_secret): a token from the authority at start, sent as a bearer token, never the secret', async () => {
  const entra = await startFakeEntra({ tenant: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1' });
  const upstream = await startFakeOpenAI({ azureKey: 'not-this-one', azureToken: 'entra-token-1' });
  const dir = tempDir('entra-gw');
  writeFileSync(join(dir, 'config.yaml'), `model_list:
  - model_name: gpt-4o
    litellm_params: { model: azure/my-gpt-4o, api_base: "${upstream.url.replace(/\/v1$/, '')}", tenant_id: tenant-1, client_id: client-1, client_secret: os.environ/AZURE_CLIENT_SECRET }
  - model_name: wrong-secret
    litellm_params: { model: azure/my-gpt-4o, api_base: "${upstream.url.replace(/\/v1$/, '')}", tenant_id: tenant-1, client_id: client-1, client_secret: not-the-secret }
`);
  // Microsoft's library talks only https: the fake authority's certificate is trusted for this process.
  const g = await spawnGateway({
    cwd: dir,
    args: ['--config', 'config.yaml', '--port', '0', '--host', '127.0.0.1'],
    env: { LITELLM_MASTER_KEY: MASTER_KEY, DATABASE_URL: 'sqlite::memory:', AZURE_CLIENT_SECRET: 'secret-1', AZURE_AUTHORITY_HOST: entra.url, NODE_EXTRA_CA_CERTS: entra.certFile },
  });
  try {
    for (let i = 0; i < 100 && entra.requests.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(entra.requests.length, 2, 'a token for each set of credentials, fetched at start');
    assert.equal(entra.requests[0]!.get('scope'), 'https://cognitiveservices.azure.com/.default');
    const c = new OpenAI({ apiKey: MASTER_KEY, baseURL: g.url, maxRetries: 0 });
    const r = await c.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    assert.match(r.choices[0]!.message.content!, /fake model/);
    await c.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    const sent = upstream.requests.at(-1)!;
    assert.equal(sent.headers.authorization, 'Bearer entra-token-1');
    assert.equal(sent.headers['api-key'], undefined);
    assert.equal(entra.requests.length, 2, 'warm calls never fetch a token');
    // Credentials the authority refuses: a 502 saying so, without the secret; the gateway keeps serving.
    const refused: any = await c.chat.completions.create({ model: 'wrong-secret', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.equal(refused.status, 502);
    assert.match(refused.message, /access token for azure \(model wrong-secret, Entra ID client client-1 of tenant tenant-1\)/);
    assert.equal(refused.message.includes('not-the-secret'), false);
    await c.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    const info = JSON.stringify(await (await fetch(`${g.url}/model/info`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json());
    assert.equal(info.includes('secret-1'), false, 'the secret is not in /model/info');
    assert.equal(g.output().includes('secret-1'), false, 'nor in the log');
  } finally {
    await g.stop();
    await upstream.close();
    await entra.close();
  }
});
