// mistral/ deployments against a fake that answers as Mistral does (stream_options refused with a 422,
// usage on the finish chunk unasked): chat streamed with its usage metered though none was asked,
// Mistral's own fields (prompt_mode, safe_prompt) passed on to it, and mistral-embed embeddings metered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, spendLogOf, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let gw: TestGateway;

before(async () => {
  fake = await startFakeOpenAI({ apiKey: 'mi-key', mistral: true });
  gw = await startInProcess(`model_list:
  - model_name: magistral
    litellm_params: { model: mistral/magistral-medium-2509, api_base: "${fake.url}", api_key: mi-key, input_cost_per_token: 0.000002, output_cost_per_token: 0.000005 }
  - model_name: embed
    litellm_params: { model: mistral/mistral-embed, api_base: "${fake.url}", api_key: mi-key, input_cost_per_token: 0.0000001 }
`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

const client = () => new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });

test("a stream asking for usage: stream_options not sent (Mistral's 422), the usage it sends unasked given to the client and metered", async () => {
  const { data, response } = await client().chat.completions.create({ model: 'magistral', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi there' }] }).withResponse();
  let usage: any = null;
  for await (const c of data) if (c.usage) usage = c.usage;
  assert.equal(fake.requests.at(-1)!.body.stream_options, undefined);
  assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [2, 15]);
  const rec = await spendLogOf(gw.url, response.headers.get('x-litellm-call-id'));
  assert.equal(Math.round(rec.spend * 1e9), 2 * 2000 + 15 * 5000);
});

test("Mistral's own fields (prompt_mode for Magistral's reasoning prompt, safe_prompt) reach it as given", async () => {
  await client().chat.completions.create({ model: 'magistral', messages: [{ role: 'user', content: 'hi' }], prompt_mode: 'reasoning', safe_prompt: true } as any);
  const sent = fake.requests.at(-1)!.body;
  assert.deepEqual([sent.prompt_mode, sent.safe_prompt, sent.model], ['reasoning', true, 'magistral-medium-2509']);
});

test('mistral-embed: embeddings passed through, metered from its usage', async () => {
  const { data, response } = await client().embeddings.create({ model: 'embed', input: ['one two', 'three'], encoding_format: 'float' }).withResponse();
  assert.equal(data.data.length, 2);
  assert.equal(fake.requests.at(-1)!.path, '/v1/embeddings');
  assert.equal(fake.requests.at(-1)!.body.model, 'mistral-embed');
  const rec = await spendLogOf(gw.url, response.headers.get('x-litellm-call-id'));
  assert.equal(rec.prompt_tokens, 3);
  assert.equal(Math.round(rec.spend * 1e9), 300);
});
