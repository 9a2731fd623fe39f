// SSRF: no request field makes the gateway call a URL its operator did not configure. A canary server
// counts every request it gets while calls name it everywhere a client can put a URL (api_base,
// base_url, the model name, metadata, headers, image and file parts, tools, the Responses API's items,
// wildcard models, fallbacks), to OpenAI, Anthropic and Gemini deployments; it must get none.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import { startFakeGemini } from '../fakes/gemini-upstream.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { startRawUpstream, type RawUpstream } from '../helpers/upstream.ts';

let canary: RawUpstream;
let hits = 0;
let openai: FakeUpstream;
let anthropic: FakeUpstream;
let gemini: { url: string; close(): Promise<void> };
let gw: TestGateway;

before(async () => {
  canary = await startRawUpstream((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  openai = await startFakeOpenAI();
  anthropic = await startFakeAnthropic();
  gemini = await startFakeGemini();
  gw = await startInProcess(`model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: ${openai.url}, api_key: sk-up }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: ${anthropic.url}, api_key: sk-ant }
  - model_name: gemini
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: ${gemini.url}, api_key: AIza-x }
  - model_name: "openai/*"
    litellm_params: { model: "openai/*", api_base: ${openai.url}, api_key: sk-up }
`);
});
after(async () => {
  await gw.close();
  await canary.close();
  await openai.close();
  await anthropic.close();
  await gemini.close();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, ...headers }, body: JSON.stringify(body) }).then(async (r) => (await r.text(), r.status));

test('no field of a request reaches a URL the operator did not configure', async () => {
  const url = canary.base;
  const image = { type: 'image_url', image_url: { url: `${url}/cat.png` } };
  const statuses: number[] = [];
  for (const model of ['gpt-4', 'claude', 'gemini']) {
    statuses.push(
      await post('/v1/chat/completions', {
        model,
        messages: [{ role: 'user', content: [{ type: 'text', text: `look at ${url}` }, image] }],
        api_base: url, base_url: url, azure_endpoint: url, custom_llm_provider: 'openai', api_key: 'sk-mine',
        metadata: { callback_url: url, webhook: url }, extra_headers: { host: new URL(url).host }, user: url,
        tools: [{ type: 'function', function: { name: 'fetch', description: url, parameters: { type: 'object', properties: { u: { type: 'string', default: url } } } } }],
      }, { 'x-forwarded-host': new URL(url).host, 'x-litellm-api-base': url, 'api-base': url }),
    );
    statuses.push(await post('/v1/messages', { model, max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: `${url}/cat.png` } }, { type: 'text', text: 'hi' }] }], api_base: url }));
    statuses.push(await post('/v1/responses', { model, input: [{ role: 'user', content: [{ type: 'input_image', image_url: `${url}/cat.png` }, { type: 'input_text', text: 'hi' }] }], api_base: url }));
    statuses.push(await post('/v1/embeddings', { model, input: url, api_base: url }));
  }
  // A model name that is a URL, or a provider prefix with one; a wildcard that would carry it; fallbacks naming it.
  statuses.push(await post('/v1/chat/completions', { model: url, messages: [{ role: 'user', content: 'hi' }] }));
  statuses.push(await post('/v1/chat/completions', { model: `openai/${url}`, messages: [{ role: 'user', content: 'hi' }] }));
  // (a fallback that is no model group is refused before any call: 400)
  statuses.push(await post('/v1/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: '[[status:500]]' }], fallbacks: [url, `openai/${url}`] }));
  // Keys and models cannot be given an address either.
  statuses.push(await post('/key/generate', { metadata: { api_base: url }, models: [url] }));
  statuses.push(await post('/model/new', { model_name: 'mine', litellm_params: { model: 'openai/x', api_base: url } }));
  assert.ok(statuses.every((s) => s < 500), statuses.join(' '));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(hits, 0, `the canary was called ${hits} times`);
  // (and the calls did reach the configured upstreams)
  assert.ok(openai.requests.length > 0 && anthropic.requests.length > 0);
});
