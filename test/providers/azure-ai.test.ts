// azure_ai/ deployments (Azure AI Foundry's models in OpenAI's format), as LiteLLM addresses them: a
// Foundry resource (*.services.ai.azure.com) at /models/chat/completions with its key in api-key, any
// other endpoint at /chat/completions with a bearer key; api_version added to the query unless the
// api_base has one; AZURE_AI_API_BASE / AZURE_AI_API_KEY. Then calls through the SDKs to a fake.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { loadConfig } from '../../src/config/load.ts';
import { buildRequest } from '../../src/providers/openai/request.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, writeConfig, type TestGateway } from '../helpers/gateway.ts';

const deployment = (params: string, env: NodeJS.ProcessEnv = {}) =>
  loadConfig(writeConfig(`model_list:\n  - model_name: m\n    litellm_params: { model: azure_ai/Llama-3.3-70B-Instruct${params} }\n`), env).config.deployments[0]!;
const plan = (body: Record<string, unknown>) => ({ endpoint: 'chat/completions' as const, body, raw: null, headers: {}, dropParams: false });

test("addresses and key headers, LiteLLM's way", () => {
  const foundry = deployment(', api_base: "https://acme.services.ai.azure.com", api_key: k, api_version: 2024-05-01-preview');
  const r = buildRequest(plan({ model: 'm', messages: [] }), foundry, foundry.upstreamModel);
  assert.equal(r.url, 'https://acme.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview');
  assert.equal(r.headers['api-key'], 'k');
  assert.equal(r.headers.authorization, undefined);
  assert.equal(JSON.parse(String(r.body)).model, 'Llama-3.3-70B-Instruct');
  // a base that names /models already, or the whole address with its api-version: not doubled
  const withModels = deployment(', api_base: "https://acme.services.ai.azure.com/models?api-version=2025-05-01", api_key: k, api_version: 2024-05-01-preview');
  assert.equal(buildRequest(plan({ model: 'm', messages: [] }), withModels, 'x').url, 'https://acme.services.ai.azure.com/models/chat/completions?api-version=2025-05-01');
  const serverless = deployment(', api_base: "https://llama-abc.eastus2.models.ai.azure.com", api_key: k');
  const s = buildRequest(plan({ model: 'm', messages: [] }), serverless, 'x');
  assert.equal(s.url, 'https://llama-abc.eastus2.models.ai.azure.com/chat/completions');
  assert.equal(s.headers.authorization, 'Bearer k');
  assert.equal(s.headers['api-key'], undefined);
  const fromEnv = deployment('', { AZURE_AI_API_BASE: 'https://acme.services.ai.azure.com/models', AZURE_AI_API_KEY: 'env-key' });
  const e = buildRequest({ ...plan({ model: 'm', input: 'hi' }), endpoint: 'embeddings' }, fromEnv, 'x');
  assert.equal(e.url, 'https://acme.services.ai.azure.com/models/embeddings');
  assert.equal(e.headers['api-key'], 'env-key');
  assert.throws(() => deployment(''), /api_base: is required for provider "azure_ai"/);
});

let fake: FakeUpstream;
let gw: TestGateway;
before(async () => {
  fake = await startFakeOpenAI({ apiKey: 'foundry-key' });
  gw = await startInProcess(`model_list:
  - model_name: llama
    litellm_params: { model: azure_ai/Llama-3.3-70B-Instruct, api_base: "${fake.url}", api_key: foundry-key, api_version: 2024-05-01-preview }
`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

test('calls through the SDKs: chat and streams with usage, Anthropic clients translated', async () => {
  const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
  const r = await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] });
  assert.match(r.choices[0]!.message.content!, /fake model/);
  assert.equal(fake.requests.at(-1)!.path, '/v1/chat/completions?api-version=2024-05-01-preview');
  assert.equal(fake.requests.at(-1)!.body.model, 'Llama-3.3-70B-Instruct');
  const stream = await client.chat.completions.create({ model: 'llama', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
  let usage: any = null;
  for await (const c of stream) usage = c.usage ?? usage;
  assert.equal(usage.completion_tokens, 15);
  const m = await new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 }).messages.create({ model: 'llama', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  assert.match((m.content[0] as any).text, /fake model/);
  const health = (await (await fetch(`${gw.url}/health`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
  assert.equal(health.healthy_count, 1, JSON.stringify(health));
  assert.equal(fake.requests.at(-1)!.body.max_tokens, 1, 'health is a one-token call');
});
