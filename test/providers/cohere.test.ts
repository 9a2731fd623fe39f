// cohere/ deployments (Cohere's v2 API) through the official OpenAI and Anthropic SDKs as clients, against
// a fake speaking Cohere's documented format: chat translated both ways (renamed parameters, tools and
// tool_choice, JSON schemas, thinking), Cohere's own stream events as chunks and as Anthropic events,
// the tool plan kept, a failed generation as an error, Cohere's errors with their status, embeddings,
// rerank on LiteLLM's routes billed per search unit, and usage metered from what Cohere bills
// (billed_units), priced from the catalog.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeCohere } from '../fakes/cohere-upstream.ts';
import type { FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, spendLogOf, startInProcess, type TestGateway } from '../helpers/gateway.ts';

const KEY = 'co-fake-key';
let cohere: FakeUpstream;
let gw: TestGateway;

before(async () => {
  cohere = await startFakeCohere({ apiKey: KEY });
  gw = await startInProcess(`model_list:
  - model_name: command
    litellm_params: { model: cohere/command-a-03-2025, api_base: "${cohere.url}", api_key: ${KEY} }
  - model_name: command-chat
    litellm_params: { model: cohere_chat/command-r-08-2024, api_base: "${cohere.url}/v2", api_key: ${KEY} }
  - model_name: embed
    litellm_params: { model: cohere/embed-v4.0, api_base: "${cohere.url}", api_key: ${KEY} }
  - model_name: rerank
    litellm_params: { model: cohere/rerank-v3.5, api_base: "${cohere.url}", api_key: ${KEY} }
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o, api_base: "${cohere.url}/never", api_key: k }
`);
});
after(async () => {
  await gw.close();
  await cohere.close();
});

const openai = () => new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
const anthropic = () => new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
const sent = () => cohere.requests.at(-1)!;
const record = (id: string | null) => spendLogOf(gw.url, id);
const TOOLS = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];

test("a chat call: Cohere's address and key, its parameter names, the answer back, usage metered from billed_units", async () => {
  const { data: r, response } = await openai()
    .chat.completions.create({
      model: 'command',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi there' },
      ],
      max_completion_tokens: 100,
      temperature: 0.3,
      top_p: 0.9,
      stop: ['END'],
      seed: 7,
    })
    .withResponse();
  assert.equal(r.choices[0]!.message.content, 'Hello from the fake Cohere Command model.');
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  const s = sent();
  assert.equal(s.path, '/v2/chat');
  assert.equal(s.headers.authorization, `Bearer ${KEY}`);
  assert.deepEqual(s.body, {
    model: 'command-a-03-2025',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi there' },
    ],
    max_tokens: 100,
    temperature: 0.3,
    p: 0.9,
    seed: 7,
    stop_sequences: ['END'],
  });
  // billed: 4 in, 7 out (the fake's `tokens` add 100 of its prompt template, which Cohere does not bill).
  assert.deepEqual([r.usage!.prompt_tokens, r.usage!.completion_tokens], [4, 7]);
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.equal(Math.round(rec.spend * 1e12), 4 * 2_500_000 + 7 * 10_000_000, 'command-a at 2.5 / 10 $ per million tokens');
});

test('a streamed call: Cohere\'s events as chunks, usage at message-end, the api_base given with /v2', async () => {
  const stream = await openai().chat.completions.create({ model: 'command-chat', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish = null;
  let usage: any = null;
  for await (const c of stream) {
    text += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    if (c.usage) usage = c.usage;
  }
  assert.equal(text, 'Hello from the fake Cohere Command model.');
  assert.equal(finish, 'stop');
  assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [1, 7]);
  assert.equal(sent().path, '/v2/chat');
  assert.equal(sent().body.stream, true);
  assert.equal(sent().body.stream_options, undefined);
});

test('tools: REQUIRED, a named function as the only tool offered, the call whole and streamed with its plan, its result sent back', async () => {
  const r: any = await openai().chat.completions.create({ model: 'command', messages: [{ role: 'user', content: 'weather? [[tool-call]]' }], tools: TOOLS, tool_choice: 'required' });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  const call = r.choices[0].message.tool_calls[0];
  assert.deepEqual([call.id, call.function.name, JSON.parse(call.function.arguments)], ['get_weather_fake01', 'get_weather', { city: 'Paris' }]);
  assert.equal(r.choices[0].message.tool_plan, 'I will look up the weather.');
  assert.equal(sent().body.tool_choice, 'REQUIRED');
  assert.deepEqual(sent().body.tools, TOOLS);

  await openai().chat.completions.create({ model: 'command', messages: [{ role: 'user', content: 'x' }], tools: [...TOOLS, { type: 'function', function: { name: 'other', parameters: {} } }], tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  assert.deepEqual(sent().body.tools.map((t: any) => t.function.name), ['get_weather']);

  const stream = await openai().chat.completions.create({ model: 'command', messages: [{ role: 'user', content: 'weather? [[tool-call]]' }], tools: TOOLS, stream: true });
  let args = '';
  let id = '';
  let finish = null;
  for await (const c of stream) {
    const t = c.choices[0]?.delta?.tool_calls?.[0];
    if (t?.id) id = t.id;
    args += t?.function?.arguments ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  assert.deepEqual([id, JSON.parse(args), finish], ['get_weather_fake01', { city: 'Paris' }, 'tool_calls']);

  await openai().chat.completions.create({
    model: 'command',
    messages: [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [call], tool_plan: 'I will look up the weather.' } as any,
      { role: 'tool', tool_call_id: call.id, content: 'sunny' },
    ],
    tools: TOOLS,
  });
  assert.deepEqual(sent().body.messages.slice(1), [
    { role: 'assistant', tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: call.function.arguments } }], tool_plan: 'I will look up the weather.' },
    { role: 'tool', tool_call_id: call.id, content: 'sunny' },
  ]);
});

test('reasoning, JSON schema and images in Cohere\'s terms; what Cohere cannot take is refused naming it', async () => {
  const r: any = await openai().chat.completions.create({ model: 'command', messages: [{ role: 'user', content: [{ type: 'text', text: 'json' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }], reasoning_effort: 'low', response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object' } } } } as any);
  assert.equal(r.choices[0].message.reasoning_content, 'The user wants a greeting.');
  assert.deepEqual(sent().body.thinking, { type: 'enabled', token_budget: 1024 });
  assert.deepEqual(sent().body.response_format, { type: 'json_object', json_schema: { type: 'object' } });
  assert.deepEqual(sent().body.messages[0].content[1], { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } });
  const before = cohere.requests.length;
  await assert.rejects(openai().chat.completions.create({ model: 'command', messages: [{ role: 'user', content: 'hi' }], logit_bias: { '1': 2 } }), (e: any) => e.status === 400 && e.error.param === 'logit_bias');
  await assert.rejects(openai().chat.completions.create({ model: 'command', messages: [{ role: 'user', content: 'hi' }], n: 2 }), (e: any) => e.status === 400 && e.error.param === 'n');
  assert.equal(cohere.requests.length, before);
});

test('Anthropic clients: streamed as Anthropic events with thinking and tool use, thinking as a token budget', async () => {
  const msg = await anthropic()
    .messages.stream({ model: 'command', max_tokens: 1000, thinking: { type: 'enabled', budget_tokens: 1024 }, tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }], messages: [{ role: 'user', content: 'weather? [[tool-call]]' }] })
    .finalMessage();
  assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'tool_use']);
  assert.deepEqual((msg.content[1] as Anthropic.ToolUseBlock).input, { city: 'Paris' });
  assert.equal(msg.stop_reason, 'tool_use');
  assert.deepEqual(sent().body.thinking, { type: 'enabled', token_budget: 1024 });
  const m = await anthropic().messages.create({ model: 'command', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal((m.content[0] as Anthropic.TextBlock).text, 'Hello from the fake Cohere Command model.');
  assert.deepEqual([m.usage.input_tokens, m.usage.output_tokens], [1, 7]);
});

test("Cohere's errors keep their status and message; a generation that failed (finish_reason ERROR) is an error, whole and streamed", async () => {
  const post = (content: string, stream = false) =>
    fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'command', stream, messages: [{ role: 'user', content }] }) });
  let r = await post('[[status:429]]');
  let body: any = await r.json();
  assert.equal(r.status, 429);
  assert.equal(body.error.type, 'rate_limit_error');
  assert.equal(body.error.message, 'cohere error (model command): You are past the per minute request limit, please wait and try again later.');
  r = await post('[[error-finish]]');
  body = await r.json();
  assert.equal(r.status, 500);
  assert.match(body.error.message, /^cohere error \(model command-a-03-2025\): the generation failed/);
  const text = await (await post('[[error-finish]]', true)).text();
  assert.match(text, /data: \{"error":\{"message":"cohere error \(model command-a-03-2025\): the generation failed: internal model failure/);
  assert.doesNotMatch(text, /\[DONE\]/);
  const cut = await (await post('go [[cut:3]]', true)).text();
  assert.match(cut, /"content":"Hello"/);
  assert.match(cut, /The cohere stream (was cut|ended before)/);
});

test('embeddings: v2 embed with input_type and output_dimension, floats or base64, billed tokens', async () => {
  const { data: e, response } = await openai().embeddings.create({ model: 'embed', input: ['first text', 'the second text'], dimensions: 8, input_type: 'search_query' } as any).withResponse();
  assert.equal(e.data.length, 2);
  assert.equal((e.data[0]!.embedding as number[]).length, 8);
  assert.equal(e.usage.prompt_tokens, 5);
  assert.deepEqual(sent().body, { model: 'embed-v4.0', texts: ['first text', 'the second text'], input_type: 'search_query', embedding_types: ['float'], output_dimension: 8 });
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.equal(rec.prompt_tokens, 5);
  const f = await openai().embeddings.create({ model: 'embed', input: 'one', encoding_format: 'float' });
  assert.deepEqual(f.data[0]!.embedding, [0.03, 0.04, 0.05, 0.06]);
  assert.equal(sent().body.input_type, 'search_document', "LiteLLM's default");
});

const rerank = (path: string, body: unknown, key = MASTER_KEY) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

test("rerank on LiteLLM's three routes: Cohere's v2 rerank, documents given back when asked, billed per search unit", async () => {
  const documents = ['Paris is the capital of France.', 'The capital of Germany is Berlin.', { text: 'Bananas are yellow.', id: 'b' }];
  const r = await rerank('/rerank', { model: 'rerank', query: 'capital of France', documents, top_n: 2, return_documents: true });
  assert.equal(r.status, 200);
  const body: any = await r.json();
  assert.deepEqual(body.results.map((x: any) => x.index), [0, 1]);
  assert.deepEqual(body.results[0].document, { text: 'Paris is the capital of France.' });
  assert.equal(body.meta.billed_units.search_units, 1);
  assert.deepEqual(sent().body, { model: 'rerank-v3.5', query: 'capital of France', documents: ['Paris is the capital of France.', 'The capital of Germany is Berlin.', 'Bananas are yellow.'], top_n: 2 });
  assert.equal(sent().path, '/v2/rerank');
  const rec = await record(r.headers.get('x-litellm-call-id'));
  assert.equal(rec.call_type, 'arerank');
  assert.equal(Math.round(rec.spend * 1e9), 2_000_000, "one search unit at Cohere's $2 per 1,000 searches");

  // rank_fields: the named fields of object documents as `field: value` lines; no documents back unless asked.
  const v1: any = await (await rerank('/v1/rerank', { model: 'rerank', query: 'title', documents: [{ title: 'A', body: 'x' }], rank_fields: ['title'] })).json();
  assert.equal(v1.results[0].document, undefined);
  assert.deepEqual(sent().body.documents, ['title: A']);
  const many = Array.from({ length: 150 }, (_, i) => `document ${i}`);
  const v2 = await rerank('/v2/rerank', { model: 'rerank', query: 'document', documents: many });
  assert.equal(Math.round((await record(v2.headers.get('x-litellm-call-id'))).spend * 1e9), 4_000_000, '150 documents are two search units');
});

test('rerank: bad input named, a model that cannot rerank refused, and a key budget holds it', async () => {
  let r = await rerank('/rerank', { model: 'rerank', documents: ['a'] });
  assert.equal(r.status, 400);
  assert.equal(((await r.json()) as any).error.param, 'query');
  r = await rerank('/rerank', { model: 'rerank', query: 'q', documents: [] });
  assert.equal(((await r.json()) as any).error.param, 'documents');
  r = await rerank('/rerank', { model: 'gpt', query: 'q', documents: ['a'] });
  assert.equal(r.status, 400);
  assert.match(((await r.json()) as any).error.message, /does not serve rerank/);
  r = await rerank('/rerank', { model: 'rerank', query: 'q', documents: ['a'], max_chunks_per_doc: 3 });
  assert.equal(((await r.json()) as any).error.param, 'max_chunks_per_doc');

  // A budget for two queries: the third is refused before Cohere, and the spend is exactly two.
  const key = ((await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ max_budget: 0.004 }) })).json()) as any).key;
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await rerank('/rerank', { model: 'rerank', query: 'q', documents: ['a'] }, key)).status);
  assert.deepEqual(statuses, [200, 200, 429]);
  const info: any = await (await fetch(`${gw.url}/key/info?key=${key}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json();
  assert.equal(info.info.spend, 0.004);
});

test('mends: a fractional or missing search-unit count still bills whole units; a null tool call is a 400, not a 500', async () => {
  let r = await rerank('/rerank', { model: 'rerank', query: 'q [[units:1.5]]', documents: ['a'] });
  assert.equal(r.status, 200);
  assert.equal(Math.round((await record(r.headers.get('x-litellm-call-id'))).spend * 1e9), 4_000_000, '1.5 units billed as 2');
  r = await rerank('/rerank', { model: 'rerank', query: 'q [[units:none]]', documents: ['a', 'b'] });
  const rec = await record(r.headers.get('x-litellm-call-id'));
  assert.equal(Math.round(rec.spend * 1e9), 2_000_000, 'no count from Cohere: the request\'s one unit');
  assert.equal(rec.estimated, true);
  const bad = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'command', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [null] }] }) });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as any).error.param, 'messages[1].tool_calls[0].function.name');
});
