// gemini/ deployments (Google AI Studio) through the official OpenAI and Anthropic SDKs as clients, against
// a fake speaking Gemini's documented format: the request translated (systemInstruction, roles, parts,
// tools, generationConfig, thinkingConfig), the answer translated back whole and frame by frame, tool
// calls with ids that carry Gemini's thought signature back, JSON schemas, images, safety blocks as
// errors, Google's errors with their status and retry delay, embeddings, and usage priced exactly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { GEMINI_SIGNATURE, startFakeGemini, type FakeGemini } from '../fakes/gemini-upstream.ts';
import { MASTER_KEY, spendLogOf, startInProcess, type TestGateway } from '../helpers/gateway.ts';

const KEY = 'AIza-fake-gemini-key';
let google: FakeGemini;
let gw: TestGateway;

before(async () => {
  google = await startFakeGemini({ apiKey: KEY });
  gw = await startInProcess(`model_list:
  - model_name: flash
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${google.url}", api_key: ${KEY}, input_cost_per_token: 0.000001, output_cost_per_token: 0.000004 }
  - model_name: pro
    litellm_params: { model: gemini/gemini-2.5-pro, api_base: "${google.url}", api_key: ${KEY} }
  - model_name: proxied
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${google.url}/v1beta/models/gemini-2.5-flash", api_key: ${KEY} }
  - model_name: embed
    litellm_params: { model: gemini/gemini-embedding-001, api_base: "${google.url}", api_key: ${KEY} }
  - model_name: g3
    litellm_params: { model: gemini/gemini-3-pro-preview, api_base: "${google.url}", api_key: ${KEY} }
`);
});
after(async () => {
  await gw.close();
  await google.close();
});

const openai = () => new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
const anthropic = () => new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
const sent = () => google.requests.at(-1)!;

const record = (callId: string | null) => spendLogOf(gw.url, callId);

const TOOLS = [
  { type: 'function' as const, function: { name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string', minLength: 1 } }, required: ['path'], additionalProperties: false, $schema: 'http://json-schema.org/draft-07/schema#' } } },
  { type: 'function' as const, function: { name: 'list_dir', parameters: { type: 'object', properties: { path: { type: 'string' } } } } },
];

test('a chat call: Gemini\'s address and key, system instruction and roles, the answer and usage back', async () => {
  const { data: r, response } = await openai()
    .chat.completions.create({
      model: 'flash',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi there' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'how are you' },
      ],
      max_tokens: 100,
      temperature: 0.5,
      stop: ['END'],
      seed: 7,
    })
    .withResponse();
  assert.match(r.choices[0]!.message.content!, /fake Gemini model/);
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  const s = sent();
  assert.equal(s.path, '/v1beta/models/gemini-2.5-flash:generateContent');
  assert.equal(s.headers['x-goog-api-key'], KEY);
  assert.equal(s.headers.authorization, undefined);
  assert.deepEqual(s.body.systemInstruction, { parts: [{ text: 'Be brief.' }] });
  assert.deepEqual(s.body.contents.map((c: any) => c.role), ['user', 'model', 'user']);
  assert.deepEqual(s.body.generationConfig, { maxOutputTokens: 100, temperature: 0.5, seed: 7, stopSequences: ['END'] });
  // The fake counts words: 2 + 1 + 3 + 2 (system) = 8 prompt tokens, 12 answer words.
  assert.deepEqual([r.usage!.prompt_tokens, r.usage!.completion_tokens], [8, 12]);
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.equal(rec.custom_llm_provider, 'gemini');
  assert.equal(Math.round(rec.spend * 1e9), 8 * 1000 + 12 * 4000);
});

test('streamed: one chunk per Gemini frame, the usage chunk, and the same usage and cost as not streamed', async () => {
  const { data: stream, response } = await openai()
    .chat.completions.create({ model: 'flash', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi there' }] })
    .withResponse();
  let text = '';
  let finish: string | null = null;
  let usage: any = null;
  let chunks = 0;
  for await (const c of stream) {
    chunks++;
    text += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    if (c.usage) usage = c.usage;
  }
  assert.equal(sent().path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  assert.equal(text, 'Hello! I am a fake Gemini model and I am doing well.');
  assert.ok(chunks >= 12, `frame by frame (${chunks} chunks)`);
  assert.equal(finish, 'stop');
  assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [4, 12]);
  const streamed = await record(response.headers.get('x-litellm-call-id'));
  const { response: r2 } = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi there' }] }).withResponse();
  const whole = await record(r2.headers.get('x-litellm-call-id'));
  assert.deepEqual([streamed.prompt_tokens, streamed.completion_tokens, streamed.spend], [whole.prompt_tokens, whole.completion_tokens, whole.spend]);
});

test('finish reasons: MAX_TOKENS is length, streamed or not', async () => {
  const r = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'long [[max-tokens]]' }] });
  assert.equal(r.choices[0]!.finish_reason, 'length');
  const stream = await openai().chat.completions.create({ model: 'flash', stream: true, messages: [{ role: 'user', content: 'long [[max-tokens]]' }] });
  let finish = null;
  for await (const c of stream) finish = c.choices[0]?.finish_reason ?? finish;
  assert.equal(finish, 'length');
});

test('an api_base that is the model\'s address gets only :method added, as LiteLLM does', async () => {
  await openai().chat.completions.create({ model: 'proxied', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(sent().path, '/v1beta/models/gemini-2.5-flash:generateContent');
});

test('tools: declarations, tool_choice, calls with stable ids carrying the thought signature, results by name', async () => {
  const r = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'read it [[tool-call]]' }], tools: TOOLS, tool_choice: 'required' });
  const s = sent().body;
  assert.deepEqual(s.toolConfig, { functionCallingConfig: { mode: 'ANY' } });
  const decl = s.tools[0].functionDeclarations;
  assert.equal(decl[0].name, 'read_file');
  // Gemini's subset of JSON schema: annotations and unknown constraints left out of tool schemas.
  assert.deepEqual(decl[0].parametersJsonSchema, { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false });
  const msg = r.choices[0]!.message;
  assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
  assert.equal(msg.content, null);
  const call = msg.tool_calls![0]! as any;
  assert.equal(call.function.name, 'read_file');
  assert.deepEqual(JSON.parse(call.function.arguments), { path: 'README0.md' });
  assert.ok(call.id.endsWith(`__thought__${GEMINI_SIGNATURE}`), call.id);
  // The same answer gives the same id (the id is made from the answer, not drawn at random).
  assert.match(call.id, /^call_[0-9a-f]{24}__thought__/);

  await openai().chat.completions.create({
    model: 'flash',
    messages: [{ role: 'user', content: 'read it' }, msg as any, { role: 'tool', tool_call_id: call.id, content: 'the file says hi' }, { role: 'user', content: 'and?' }],
    tools: TOOLS,
  });
  const turns = sent().body.contents;
  assert.deepEqual(turns[1], { role: 'model', parts: [{ functionCall: { name: 'read_file', args: { path: 'README0.md' } }, thoughtSignature: GEMINI_SIGNATURE }] });
  assert.deepEqual(turns[2], { role: 'user', parts: [{ functionResponse: { name: 'read_file', response: { content: 'the file says hi' } } }, { text: 'and?' }] });
});

test("Gemini 3: a replayed call that carries no signature (another model's) gets Google's placeholder; Gemini 2.5 gets none", async () => {
  const history: any[] = [
    { role: 'user', content: 'read it' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_01FromClaude', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } }, { id: 'toolu_02', type: 'function', function: { name: 'list_dir', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'toolu_01FromClaude', content: 'one' },
    { role: 'tool', tool_call_id: 'toolu_02', content: 'two' },
  ];
  await openai().chat.completions.create({ model: 'g3', messages: history, tools: TOOLS });
  const parts = sent().body.contents[1].parts;
  assert.equal(parts[0].thoughtSignature, 'skip_thought_signature_validator');
  assert.equal(parts[1].thoughtSignature, undefined, 'on the first call of the turn only');
  await openai().chat.completions.create({ model: 'flash', messages: history, tools: TOOLS });
  assert.equal(sent().body.contents[1].parts[0].thoughtSignature, undefined);
});

test('the code execution tool: its code and output kept in the text', async () => {
  const r = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'compute [[code]]' }], tools: [{ codeExecution: {} } as any] });
  assert.deepEqual(sent().body.tools, [{ codeExecution: {} }]);
  assert.match(r.choices[0]!.message.content!, /```python\nprint\(6 \* 7\)\n```\n\n```\n42\n\n```/);
});

test('gs:// files are refused where no bucket is allowed (Vertex would read them with the deployment\'s rights)', async () => {
  const err: any = await openai()
    .chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'gs://internal/secret.pdf', format: 'application/pdf' } } as any] }] })
    .catch((e) => e);
  assert.equal(err.status, 400);
  assert.equal(err.error.param, 'messages[0].content[0].file');
  assert.match(err.message, /allowed_gcs_buckets/);
});

test('parallel tool calls, streamed: each a tool call chunk with its own index and id', async () => {
  const stream = await openai().chat.completions.create({ model: 'flash', stream: true, messages: [{ role: 'user', content: 'both [[parallel-tools]]' }], tools: TOOLS });
  const calls: any[] = [];
  let finish = null;
  for await (const c of stream) {
    for (const t of c.choices[0]?.delta?.tool_calls ?? []) calls.push(t);
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  assert.deepEqual(calls.map((c) => [c.index, c.function.name]), [[0, 'read_file'], [1, 'list_dir']]);
  assert.notEqual(calls[0].id, calls[1].id);
  assert.equal(finish, 'tool_calls');
});

test('a JSON schema response format: responseJsonSchema; a keyword Gemini cannot hold to is a 400 naming it', async () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
  const r = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'json please [[json]]' }], response_format: { type: 'json_schema', json_schema: { name: 'a', schema, strict: true } } });
  assert.deepEqual(JSON.parse(r.choices[0]!.message.content!), { answer: 'fake' });
  assert.equal(sent().body.generationConfig.responseMimeType, 'application/json');
  assert.deepEqual(sent().body.generationConfig.responseJsonSchema, schema);
  const before = google.requests.length;
  const err: any = await openai()
    .chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]+$' } } } } } })
    .catch((e) => e);
  assert.equal(err.status, 400);
  assert.equal(err.error.param, 'response_format.json_schema.schema.properties.code.pattern');
  assert.match(err.message, /pattern/);
  assert.equal(google.requests.length, before, 'never sent loosened');
});

test('reasoning: reasoning_effort as a thinking budget, thought summaries as reasoning_content, thoughts billed as output', async () => {
  const { data: r, response } = await openai().chat.completions.create({ model: 'flash', reasoning_effort: 'low', messages: [{ role: 'user', content: 'think [[reasoning]]' }] }).withResponse();
  assert.deepEqual(sent().body.generationConfig.thinkingConfig, { thinkingBudget: 1024, includeThoughts: true });
  assert.equal((r.choices[0]!.message as any).reasoning_content, 'Let me think about this carefully.');
  // 12 answer words + 6 thought words: output 18, of which reasoning 6.
  assert.equal(r.usage!.completion_tokens, 18);
  assert.equal(r.usage!.completion_tokens_details!.reasoning_tokens, 6);
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.equal(rec.completion_tokens, 18);
  // Gemini 3 takes a thinking level.
  await openai().chat.completions.create({ model: 'flash', reasoning_effort: 'none', messages: [{ role: 'user', content: 'hi' }] });
  assert.deepEqual(sent().body.generationConfig.thinkingConfig, { thinkingBudget: 0 });
});

test('images: a data URL inline, an https address as a file for Google to fetch, an address of unknown type refused', async () => {
  await openai().chat.completions.create({
    model: 'flash',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }, { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } }] }],
  });
  assert.deepEqual(sent().body.contents[0].parts, [
    { text: 'what is this' },
    { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
    { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.jpg' } },
  ]);
  const err: any = await openai()
    .chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/picture' } }] }] })
    .catch((e) => e);
  assert.equal(err.status, 400);
  assert.equal(err.error.param, 'messages[0].content[0].image_url.url');
});

test('safety: a blocked prompt and a withheld answer are ContentPolicyViolationErrors, streamed or not; the prompt is still billed', async () => {
  const blocked: any = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'bad [[block-prompt]]' }] }).withResponse().catch((e) => e);
  assert.equal(blocked.status, 400);
  assert.match(blocked.message, /ContentPolicyViolationError/);
  assert.match(blocked.message, /blockReason SAFETY/);
  const withheld: any = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'bad [[safety]]' }] }).catch((e) => e);
  assert.equal(withheld.status, 400);
  assert.match(withheld.message, /finishReason SAFETY/);
  assert.equal(withheld.error.provider_specific_fields.finishReason, 'SAFETY');
  const logs = (await (await fetch(`${gw.url}/spend/logs?page_size=100`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
  const failed = logs.data.filter((l: any) => l.status !== 'success' && l.model_group === 'flash');
  assert.ok(failed.some((l: any) => l.prompt_tokens === 2), 'the blocked call\'s prompt is recorded');

  const stream = await openai().chat.completions.create({ model: 'flash', stream: true, messages: [{ role: 'user', content: 'bad [[safety]]' }] });
  let text = '';
  const err: any = await (async () => {
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  })().catch((e) => e);
  assert.equal(text, 'Hello!');
  assert.match(String(err?.message), /ContentPolicyViolationError/);
  const last = ((await (await fetch(`${gw.url}/spend/logs?page_size=100`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any).data;
  assert.ok(last.some((l: any) => l.model_group === 'flash' && l.status !== 'success' && l.completion_tokens === 1 && !l.estimated), 'the filtered frame\'s usage is final');
});

test("Google's errors keep their status, and a 429's RetryInfo becomes retry-after", async () => {
  for (const status of [400, 401, 403, 404, 500, 503]) {
    const err: any = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: `x [[status:${status}]]` }] }).catch((e) => e);
    assert.equal(err.status, status, `status ${status}`);
    assert.match(err.message, /gemini error/);
  }
  const limited: any = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'x [[status:429]]' }] }).catch((e) => e);
  assert.equal(limited.status, 429);
  assert.equal(limited.error.type, 'rate_limit_error');
  assert.equal(limited.headers.get('retry-after'), '7');
  // (the envelope inside an array, as Google's streaming endpoints send it)
  const inArray: any = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'x [[array-error]]' }] }).catch((e) => e);
  assert.equal(inArray.status, 429);
  assert.match(inArray.message, /Resource has been exhausted/);
  assert.equal(inArray.headers.get('retry-after'), '7');
});

test('a stream cut midway ends with an error event, and the record has what was used', async () => {
  const { data: stream, response } = await openai().chat.completions.create({ model: 'flash', stream: true, messages: [{ role: 'user', content: 'go [[cut:3]]' }] }).withResponse();
  let text = '';
  const err = await (async () => {
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  })().catch((e) => e);
  assert.ok(err, 'the stream ends with an error');
  assert.equal(text, 'Hello! I am');
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.equal(rec.status, 'error');
  assert.equal(rec.prompt_tokens, 2, 'the prompt as Gemini counted it in the first frame');
  assert.ok(rec.completion_tokens >= 3, `output metered from the text seen (${rec.completion_tokens})`);
});

test('priced from the catalog: Gemini 2.5 Pro above 200k prompt tokens at its long-context rates, cache reads at theirs', async () => {
  const { response } = await openai().chat.completions.create({ model: 'pro', messages: [{ role: 'user', content: 'big [[long]]' }] }).withResponse();
  const rec = await record(response.headers.get('x-litellm-call-id'));
  // 250,000 prompt tokens at 2.50 $/M and 12 output tokens at 15 $/M (the >200k tier).
  assert.equal(Math.round(rec.spend * 1e9), 250_000 * 2500 + 12 * 15_000);
  const { response: r2 } = await openai().chat.completions.create({ model: 'pro', messages: [{ role: 'user', content: 'one two three four [[cached:3]]' }] }).withResponse();
  const rec2 = await record(r2.headers.get('x-litellm-call-id'));
  // 5 prompt tokens, 3 of them cached (0.125 $/M), 2 uncached (1.25 $/M), 12 output (10 $/M).
  assert.equal(Math.round(rec2.spend * 1e12), 3 * 125_000 + 2 * 1_250_000 + 12 * 10_000_000);
});

test('embeddings: batchEmbedContents, floats or base64 (the SDK default), dimensions, usage counted', async () => {
  const r = await openai().embeddings.create({ model: 'embed', input: ['one two', 'three'], dimensions: 4 });
  assert.equal(sent().path, '/v1beta/models/gemini-embedding-001:batchEmbedContents');
  assert.deepEqual(sent().body.requests[0], { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'one two' }] }, outputDimensionality: 4 });
  assert.equal(r.data.length, 2);
  assert.equal(r.data[1]!.embedding.length, 4);
  assert.ok(r.usage.prompt_tokens > 0);
  const floats = await openai().embeddings.create({ model: 'embed', input: 'one two', dimensions: 4, encoding_format: 'float' });
  assert.deepEqual(floats.data[0]!.embedding, r.data[0]!.embedding.map((v) => Math.fround(v)));
  const tokens: any = await openai().embeddings.create({ model: 'embed', input: [[1, 2, 3]] as any }).catch((e) => e);
  assert.equal(tokens.status, 400);
  assert.equal(tokens.error.param, 'input[0]');
});

test('Anthropic clients: messages to Gemini and back, whole and streamed, tools and thinking', async () => {
  const m = await anthropic().messages.create({ model: 'flash', max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'hi there' }] });
  assert.equal(m.type, 'message');
  assert.match((m.content[0] as any).text, /fake Gemini/);
  assert.equal(m.stop_reason, 'end_turn');
  assert.deepEqual([m.usage.input_tokens, m.usage.output_tokens], [4, 12]);
  assert.deepEqual(sent().body.systemInstruction, { parts: [{ text: 'Be brief.' }] });
  assert.equal(sent().body.generationConfig.maxOutputTokens, 200);

  const stream = anthropic().messages.stream({ model: 'flash', max_tokens: 200, thinking: { type: 'enabled', budget_tokens: 2000 }, messages: [{ role: 'user', content: 'think [[reasoning]]' }] });
  const final = await stream.finalMessage();
  assert.deepEqual(sent().body.generationConfig.thinkingConfig, { thinkingBudget: 2000, includeThoughts: true });
  assert.equal(final.content[0]!.type, 'thinking');
  assert.match((final.content[1] as any).text, /fake Gemini/);
  assert.equal(final.usage.output_tokens, 18);

  const tools = await anthropic().messages.create({
    model: 'flash',
    max_tokens: 200,
    tools: [{ name: 'read_file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }],
    messages: [{ role: 'user', content: 'read [[tool-call]]' }],
  });
  assert.equal(tools.stop_reason, 'tool_use');
  const use = tools.content.find((b) => b.type === 'tool_use') as any;
  assert.equal(use.name, 'read_file');
  await anthropic().messages.create({
    model: 'flash',
    max_tokens: 200,
    tools: [{ name: 'read_file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }],
    messages: [
      { role: 'user', content: 'read' },
      { role: 'assistant', content: tools.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'hi' }] },
    ],
  });
  assert.equal(sent().body.contents[1].parts[0].thoughtSignature, GEMINI_SIGNATURE);
  assert.equal(sent().body.contents[2].parts[0].functionResponse.name, 'read_file');

  const safety: any = await anthropic().messages.create({ model: 'flash', max_tokens: 50, messages: [{ role: 'user', content: 'x [[block-prompt]]' }] }).catch((e) => e);
  assert.equal(safety.status, 400);
  assert.equal(safety.error.type, 'error');
  assert.match(safety.message, /ContentPolicyViolationError/);
});

test('/health checks a Gemini deployment with its key', async () => {
  const r = (await (await fetch(`${gw.url}/health`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
  assert.ok(r.healthy_endpoints.some((e: any) => e.model === 'gemini/gemini-2.5-flash'), JSON.stringify(r));
});

for (const stream of [false, true]) {
  test(`budgets hold on Gemini: 100 parallel calls on a budget for 10, never over, spend exactly what was answered (${stream ? 'streamed' : 'plain'})`, async () => {
    // One answer: 1 prompt token + 12 output tokens at the configured prices = 49,000 nano-dollars.
    const answer = 1 * 1000 + 12 * 4000;
    const budget = 10 * answer;
    const key = (await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ max_budget: budget / 1e9 }) })).json() as any).key;
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'flash', max_tokens: 12, stream, messages: [{ role: 'user', content: 'hi' }] }) });
        return { status: res.status, text: await res.text() };
      }),
    );
    const ok = results.filter((r) => r.status === 200 && !r.text.includes('"error"'));
    assert.equal(ok.length + results.filter((r) => r.status === 429).length, 100);
    const logs = (await (await fetch(`${gw.url}/spend/logs?api_key=${key}&page_size=1000`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
    const spent = logs.data.reduce((s: number, l: any) => s + Math.round(l.spend * 1e9), 0);
    assert.ok(spent <= budget, `spent ${spent} > budget ${budget}`);
    assert.equal(spent, ok.length * answer, 'spend is exactly what the clients were shown');
    assert.ok(spent >= budget / 2, `only ${spent} of ${budget} used`);
    assert.deepEqual(gw.app.ctx.limiter.held(), { reservations: 0, slots: 0 });
  });
}
