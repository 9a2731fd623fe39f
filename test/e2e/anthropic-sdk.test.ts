// The official SDKs across dialects: @anthropic-ai/sdk on /v1/messages, answered by an Anthropic
// deployment (passed through) and by an OpenAI-wire one (translated both ways); the openai SDK on an
// anthropic/ model. Keys, model access, metering and errors apply as on the OpenAI routes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startFakeAnthropic, fixture, FAKE_SIGNATURE } from '../fakes/anthropic-upstream.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { asMaster, MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let claude: FakeUpstream;
let gpt: FakeUpstream;
let gw: TestGateway;

// 3 $/MTok in, 15 $/MTok out, cache reads 0.30, 5-minute writes 3.75, 1-hour writes 6.
const config = (anthropicUrl: string, openaiUrl: string) => `model_list:
  - model_name: claude-sonnet-4-5
    litellm_params:
      model: anthropic/claude-sonnet-4-5-20250929
      api_base: ${anthropicUrl}
      api_key: sk-ant-upstream
      input_cost_per_token: 0.000003
      output_cost_per_token: 0.000015
      cache_read_input_token_cost: 0.0000003
      cache_creation_input_token_cost: 0.00000375
      cache_creation_input_token_cost_above_1hr: 0.000006
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${openaiUrl}", api_key: sk-upstream, input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001 }
    model_info: { max_output_tokens: 8192 }
general_settings:
  max_request_size_mb: 1
`;

before(async () => {
  claude = await startFakeAnthropic({ apiKey: 'sk-ant-upstream' });
  gpt = await startFakeOpenAI({ apiKey: 'sk-upstream' });
  gw = await startInProcess(config(claude.url, gpt.url));
});
after(async () => {
  await gw.close();
  await claude.close();
  await gpt.close();
});

const api = (method: string, path: string, body?: unknown) => asMaster(gw.url, method, path, body);

const anthropic = (apiKey: string) => new Anthropic({ apiKey, baseURL: gw.url, maxRetries: 0 });
const logsOf = async (key: string) => (await api('GET', `/spend/logs?api_key=${key}`)).data as any[];

describe('@anthropic-ai/sdk to an Anthropic deployment (passthrough)', () => {
  test('a message: only the model rewritten, the deployment key and anthropic headers sent, usage metered', async () => {
    const key = (await api('POST', '/key/generate', {})).key;
    const client = new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0, defaultHeaders: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } });
    const msg = await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Hello there Claude' }],
      metadata: { user_id: 'u-1' },
    });
    assert.equal(msg.type, 'message');
    assert.match((msg.content[0] as Anthropic.TextBlock).text, /^Hello! I am a fake Claude/);
    const sent = claude.requests.at(-1)!;
    assert.equal(sent.headers['x-api-key'], 'sk-ant-upstream');
    assert.equal(sent.headers.authorization, undefined);
    // The client's API version is passed on (this SDK's own, not a default of the gateway).
    assert.match(String(sent.headers['anthropic-version']), /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(sent.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14');
    assert.equal(sent.body.model, 'claude-sonnet-4-5-20250929');
    assert.deepEqual(sent.body.system, [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }]);
    assert.deepEqual(sent.body.metadata, { user_id: 'u-1' });
    const [log] = await logsOf(key);
    assert.equal(log.call_type, 'anthropic_messages');
    assert.equal(log.prompt_tokens, msg.usage.input_tokens);
    assert.equal(log.completion_tokens, msg.usage.output_tokens);
    assert.equal(log.spend, (msg.usage.input_tokens * 3000 + msg.usage.output_tokens * 15000) / 1e9);
  });

  test('the same request streamed and not records identical usage and cost; thinking and its signature pass unchanged', async () => {
    const key = (await api('POST', '/key/generate', {})).key;
    const client = anthropic(key);
    const params = { model: 'claude-sonnet-4-5', max_tokens: 2048, thinking: { type: 'enabled' as const, budget_tokens: 1024 }, messages: [{ role: 'user' as const, content: 'Think then answer' }] };
    const plain = await client.messages.create(params);
    const stream = client.messages.stream(params);
    const events: string[] = [];
    stream.on('streamEvent', (e) => events.push(e.type));
    const streamed = await stream.finalMessage();
    assert.deepEqual(streamed.content, plain.content);
    assert.deepEqual(streamed.content[0], { type: 'thinking', thinking: 'Thinking about it.', signature: FAKE_SIGNATURE });
    assert.equal(events[0], 'message_start');
    assert.equal(events.at(-1), 'message_stop');
    const logs = await logsOf(key);
    assert.equal(logs.length, 2);
    assert.deepEqual(logs[0].usage, logs[1].usage);
    assert.equal(logs[0].spend, logs[1].spend);
    assert.deepEqual([logs[0].stream, logs[1].stream].sort(), [false, true]);
  });

  test('cache reads and 5-minute and 1-hour writes are priced apart (Anthropic usage convention)', async () => {
    const key = (await api('POST', '/key/generate', {})).key;
    const msg = await anthropic(key).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: '[[fixture:cache-usage]]' }] });
    const u = JSON.parse(fixture('message-cache-usage.json')).usage;
    assert.deepEqual(msg.usage.cache_read_input_tokens, u.cache_read_input_tokens);
    const [log] = await logsOf(key);
    assert.deepEqual(log.usage, {
      input_tokens: u.input_tokens,
      cache_read_tokens: u.cache_read_input_tokens,
      cache_write_tokens: u.cache_creation.ephemeral_5m_input_tokens,
      cache_write_1h_tokens: u.cache_creation.ephemeral_1h_input_tokens,
      output_tokens: u.output_tokens,
      reasoning_tokens: 0,
    });
    const nanos = u.input_tokens * 3000 + u.cache_read_input_tokens * 300 + u.cache_creation.ephemeral_5m_input_tokens * 3750 + u.cache_creation.ephemeral_1h_input_tokens * 6000 + u.output_tokens * 15000;
    assert.equal(log.spend, nanos / 1e9);
  });

  test('tool use streamed from a fixture arrives whole through the SDK', async () => {
    const final = await anthropic(MASTER_KEY).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 500, messages: [{ role: 'user', content: '[[fixture:tool-use]]' }] }).finalMessage();
    assert.equal(final.stop_reason, 'tool_use');
    assert.equal(final.content.filter((b) => b.type === 'tool_use').length, 2);
  });

  test('upstream errors keep their status and Anthropic type; 529 and 429 keep retry-after', async () => {
    for (const [status, type, Cls] of [[529, 'overloaded_error', Anthropic.InternalServerError], [429, 'rate_limit_error', Anthropic.RateLimitError], [400, 'invalid_request_error', Anthropic.BadRequestError]] as const) {
      const err = await anthropic(MASTER_KEY)
        .messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: `[[status:${status}]] [[retry-after:0]]` }] }, { maxRetries: 0 })
        .catch((e) => e);
      assert.ok(err instanceof Cls, `${status}: ${err}`);
      assert.equal(err.status, status);
      assert.equal((err.error as any).type, 'error');
      assert.equal((err.error as any).error.type, type);
      if (status !== 400) assert.equal(err.headers.get('retry-after'), '0');
    }
  });

  test('an error event mid-stream reaches the client as the SDK error, and the record says what was used', async () => {
    const key = (await api('POST', '/key/generate', {})).key;
    const stream = anthropic(key).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 500, messages: [{ role: 'user', content: '[[fixture:error-midway]]' }] });
    const err = await stream.finalMessage().catch((e) => e);
    assert.match(String(err), /Overloaded/);
    const [log] = await logsOf(key);
    assert.equal(log.status, 'error');
    assert.equal(log.error_type, 'overloaded_error');
    assert.equal(log.prompt_tokens, 1203);
  });

  test('a cut upstream stream ends with an error event, never a clean end', async () => {
    const key = (await api('POST', '/key/generate', {})).key;
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'cut me [[cut:3]]' }] }),
    });
    const text = await res.text();
    assert.ok(!text.includes('message_stop'));
    assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"The anthropic stream was cut/);
    const [log] = await logsOf(key);
    assert.equal(log.status, 'error');
    // The provider's input count (message_start), and the output seen since, marked estimated.
    assert.equal(log.prompt_tokens, 3);
    assert.equal(log.estimated, true);
    assert.equal(log.completion_tokens, Math.ceil('Hello! I am'.length / 4));
  });

  test('metadata goes upstream with user_id only; gateway fields never reach Anthropic', async () => {
    await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': MASTER_KEY },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, metadata: { user_id: 'u-2', tags: ['team-a'] }, num_retries: 1, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const sent = claude.requests.at(-1)!.body;
    assert.deepEqual(sent.metadata, { user_id: 'u-2' });
    assert.equal(sent.num_retries, undefined);
    await anthropic(MASTER_KEY).messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], ...({ tags: ['x'], num_retries: 2 } as object) });
    const counted = claude.requests.at(-1)!;
    assert.equal(counted.path, '/v1/messages/count_tokens');
    assert.deepEqual(Object.keys(counted.body).sort(), ['messages', 'model']);
  });
});

describe('@anthropic-ai/sdk to an OpenAI deployment (translated)', () => {
  test('a message and a stream: the exact event sequence, usage in message_delta, identical records', async () => {
    const key = (await api('POST', '/key/generate', {})).key;
    const client = anthropic(key);
    const params = { model: 'gpt-4o', max_tokens: 16000, system: 'Be brief.', messages: [{ role: 'user' as const, content: 'Hello there GPT' }] };
    const plain = await client.messages.create(params);
    assert.equal(plain.type, 'message');
    assert.equal(plain.role, 'assistant');
    assert.equal(plain.stop_reason, 'end_turn');
    assert.match((plain.content[0] as Anthropic.TextBlock).text, /^Hello! I am a fake model/);
    const sent = gpt.requests.at(-1)!.body;
    assert.deepEqual(sent.messages, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there GPT' }]);
    assert.equal(sent.max_completion_tokens, 8192, 'capped to the model maximum');
    const stream = client.messages.stream(params);
    const events: string[] = [];
    stream.on('streamEvent', (e) => events.push(e.type));
    const streamed = await stream.finalMessage();
    assert.deepEqual(streamed.content, plain.content);
    assert.deepEqual(streamed.usage.input_tokens, plain.usage.input_tokens);
    assert.deepEqual(streamed.usage.output_tokens, plain.usage.output_tokens);
    assert.deepEqual(events.filter((e, i) => e !== events[i - 1]), ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    const logs = await logsOf(key);
    assert.equal(logs.length, 2);
    assert.deepEqual(logs[0].usage, logs[1].usage);
    assert.equal(logs[0].spend, logs[1].spend);
  });

  test('tools: Anthropic tool definitions and results go as OpenAI tools, the tool call comes back as tool_use', async () => {
    const tools = [{ name: 'Read', description: 'Read a file', input_schema: { type: 'object' as const, properties: { path: { type: 'string' } } } }];
    for (const streamed of [false, true]) {
      const params = { model: 'gpt-4o', max_tokens: 100, tools, messages: [{ role: 'user' as const, content: 'read it [[tool-call]]' }] };
      const msg = streamed ? await anthropic(MASTER_KEY).messages.stream(params).finalMessage() : await anthropic(MASTER_KEY).messages.create(params);
      assert.equal(msg.stop_reason, 'tool_use');
      assert.deepEqual(msg.content, [{ type: 'tool_use', id: 'call_fake1', name: 'Read', input: { path: 'README.md' } }]);
    }
    assert.deepEqual(gpt.requests.at(-1)!.body.tools, [{ type: 'function', function: { name: 'Read', parameters: tools[0]!.input_schema, description: 'Read a file' } }]);
    await anthropic(MASTER_KEY).messages.create({
      model: 'gpt-4o',
      max_tokens: 100,
      tools,
      messages: [
        { role: 'user', content: 'read it' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'x', signature: 's' }, { type: 'tool_use', id: 'call_1', name: 'Read', input: { path: 'a' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'file body' }] }, { type: 'text', text: 'summarise' }] },
      ],
    });
    assert.deepEqual(gpt.requests.at(-1)!.body.messages, [
      { role: 'user', content: 'read it' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'Read', arguments: '{"path":"a"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'file body' },
      { role: 'user', content: 'summarise' },
    ]);
  });

  test('reasoning from an OpenAI-compatible server comes back as a thinking block', async () => {
    const msg = await anthropic(MASTER_KEY).messages.stream({ model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'think [[reasoning]]' }] }).finalMessage();
    assert.equal(msg.content[0]!.type, 'thinking');
    assert.equal((msg.content[0] as Anthropic.ThinkingBlock).thinking, 'Thinking about it.');
    assert.equal(msg.content[1]!.type, 'text');
  });

  test("Anthropic's server tools cannot run on other models: a 400 naming the tool", async () => {
    const err = await anthropic(MASTER_KEY)
      .messages.create({ model: 'gpt-4o', max_tokens: 100, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e);
    assert.ok(err instanceof Anthropic.BadRequestError);
    assert.equal((err.error as any).error.type, 'invalid_request_error');
    assert.match((err.error as any).error.message, /tools\.0 is Anthropic's server tool "web_search_20250305"/);
  });
});

describe('the openai SDK on an anthropic/ model', () => {
  test('chat and stream: content, usage in OpenAI convention, reasoning with signed thinking blocks', async () => {
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }], reasoning_effort: 'low' });
    assert.match(r.choices[0]!.message.content!, /^Hello! I am a fake Claude/);
    assert.equal((r.choices[0]!.message as any).reasoning_content, 'Thinking about it.');
    assert.deepEqual((r.choices[0]!.message as any).thinking_blocks, [{ type: 'thinking', thinking: 'Thinking about it.', signature: FAKE_SIGNATURE }]);
    const sent = claude.requests.at(-1)!.body;
    assert.deepEqual(sent.system, [{ type: 'text', text: 'Be brief.' }]);
    assert.deepEqual(sent.thinking, { type: 'enabled', budget_tokens: 1024 });
    assert.equal(sent.max_tokens, 1024 + 4096);
    const stream = await client.chat.completions.create({ model: 'claude-sonnet-4-5', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hello there' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      usage = c.usage ?? usage;
    }
    assert.equal(text, 'Hello! I am a fake Claude and I am doing well, thank you for asking.');
    assert.equal(finish, 'stop');
    assert.equal(usage!.prompt_tokens, 2);
    assert.equal(usage!.completion_tokens, 15);
  });

  test('the same request streamed and not records identical usage and cost', async () => {
    const key = (await api('POST', '/key/generate', {})).key;
    const client = new OpenAI({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'same words both times' }];
    await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages });
    for await (const _ of await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages, stream: true }));
    const logs = await logsOf(key);
    assert.equal(logs.length, 2);
    assert.deepEqual(logs[0].usage, logs[1].usage);
    assert.equal(logs[0].spend, logs[1].spend);
    assert.equal(logs[0].estimated || logs[1].estimated, false);
  });

  test('an unsupported parameter is refused with the field named', async () => {
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'claude-sonnet-4-5', n: 2, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.equal(err.param, 'n');
  });
});

describe('interrupted streams across dialects end with an error in the client\'s dialect', () => {
  const post = (path: string, key: string, body: unknown) =>
    fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(body) });

  test('an OpenAI client of an anthropic/ model: an error data frame, no [DONE]; the record counts what was seen', async () => {
    const key = (await api('POST', '/key/generate', {})).key;
    const text = await (await post('/v1/chat/completions', key, { model: 'claude-sonnet-4-5', stream: true, messages: [{ role: 'user', content: 'cut [[cut:4]]' }] })).text();
    assert.ok(!text.includes('[DONE]'));
    assert.match(text, /data: \{"error":\{"message":"The anthropic stream was cut[^"]*","type":"api_connection_error"/);
    const [log] = await logsOf(key);
    assert.equal(log.status, 'error');
    assert.equal(log.error_type, 'api_connection_error');
    assert.ok(log.completion_tokens >= 1);
  });

  test('an Anthropic client of an OpenAI model: an error event, no message_stop', async () => {
    const key = (await api('POST', '/key/generate', {})).key;
    const text = await (await post('/v1/messages', key, { model: 'gpt-4o', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'cut [[cut:4]] [[gap:20]]' }] })).text();
    assert.match(text, /^event: message_start\n/);
    assert.ok(!text.includes('message_stop'));
    assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"The openai stream was cut/);
    const [log] = await logsOf(key);
    assert.equal(log.status, 'error');
    assert.ok(log.completion_tokens >= 1);
  });
});

describe("Claude Code's captured request (76 KB, 24 tools, adaptive thinking, 8 beta flags)", () => {
  const captured = fixture('claude-code-request.json');
  const headers = JSON.parse(fixture('claude-code-request-headers.json')).headers as Record<string, string>;
  const send = (model: string) => {
    const raw = captured.replace('"model": "claude-opus-4-8"', `"model": "${model}"`);
    const h = { 'anthropic-version': headers['anthropic-version']!, 'anthropic-beta': headers['anthropic-beta']!, 'x-api-key': MASTER_KEY, 'content-type': 'application/json' };
    return { raw, res: fetch(`${gw.url}/v1/messages?beta=true`, { method: 'POST', headers: h, body: raw }) };
  };

  test('to an Anthropic deployment: the same bytes but the model, and the beta flags, go upstream', async () => {
    const { raw, res } = send('claude-sonnet-4-5');
    const text = await (await res).text();
    assert.match(text, /event: message_stop/);
    const sent = claude.requests.at(-1)!;
    assert.equal(sent.raw.toString(), raw.replace('"model": "claude-sonnet-4-5"', '"model": "claude-sonnet-4-5-20250929"'));
    assert.equal(sent.headers['anthropic-beta'], headers['anthropic-beta']);
  });

  test('to an OpenAI deployment: translated, system messages in place, every tool as a function', async () => {
    const { res } = send('gpt-4o');
    const text = await (await res).text();
    assert.match(text, /event: message_start[\s\S]*event: message_stop/);
    const body = gpt.requests.at(-1)!.body;
    const original = JSON.parse(captured);
    assert.equal(body.tools.length, original.tools.length);
    assert.deepEqual(body.tools.map((t: any) => t.function.name), original.tools.map((t: any) => t.name));
    assert.deepEqual(body.messages.map((m: any) => m.role), ['system', 'user', 'system']);
    assert.equal(body.max_completion_tokens, 8192);
    assert.equal(body.stream, true);
    assert.equal(body.user, undefined, "Claude Code's user_id (a JSON document) is not OpenAI's user");
  });
});

describe('/v1/messages: keys, access and bad input in the Anthropic envelope', () => {
  test('credentials in x-api-key or Authorization; a bad key is an authentication_error', async () => {
    const bad = await anthropic('sk-wrong').messages.create({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.ok(bad instanceof Anthropic.AuthenticationError);
    assert.equal((bad.error as any).error.type, 'authentication_error');
    const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
  });

  test('a key without the model is refused with permission_error', async () => {
    const key = (await api('POST', '/key/generate', { models: ['gpt-4o'] })).key;
    const err = await anthropic(key).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.ok(err instanceof Anthropic.PermissionDeniedError);
    assert.equal((err.error as any).error.type, 'permission_error');
  });

  test('bad bodies answer 400 invalid_request_error naming the field', async () => {
    for (const [body, field] of [
      [{ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }, 'max_tokens'],
      [{ model: 'claude-sonnet-4-5', max_tokens: 5 }, 'messages'],
      [{ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'robot', content: 'hi' }] }, 'messages.0.role'],
      [{ max_tokens: 5, messages: [] }, 'model'],
    ] as const) {
      const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': MASTER_KEY }, body: JSON.stringify(body) });
      assert.equal(res.status, 400);
      const json = (await res.json()) as any;
      assert.equal(json.type, 'error');
      assert.equal(json.error.type, 'invalid_request_error');
      assert.ok(json.error.message.includes(field), `${json.error.message} names ${field}`);
    }
  });

  test('num_retries must be a whole number; a body over the size limit is request_too_large', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': MASTER_KEY }, body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 5, num_retries: -1, messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as any).error.message, /num_retries/);
    const big = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': MASTER_KEY }, body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(1_200_000) }] }) });
    assert.equal(big.status, 413);
    assert.deepEqual(((await big.json()) as any).error.type, 'request_too_large');
  });

  test('a long stream on a nearly spent key is cut by the budget with an Anthropic error event', async () => {
    // 3 $/MTok in, 15 $/MTok out: a budget for about 100 output tokens; the answer would be 2,000 words.
    const key = (await api('POST', '/key/generate', { max_budget: (100 * 15_000 + 50_000) / 1e9 })).key;
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100_000, stream: true, messages: [{ role: 'user', content: 'long [[words:2000]]' }] }),
    });
    const text = await res.text();
    assert.ok(!text.includes('message_stop'));
    assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"rate_limit_error","message":"Budget exceeded/);
    for (let i = 0; i < 200 && !claude.requests.at(-1)!.aborted; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(claude.requests.at(-1)!.aborted, true, 'upstream call cancelled');
    const [log] = await logsOf(key);
    assert.equal(log.error_type, 'budget_exceeded');
    assert.ok(log.spend <= ((100 * 15_000 + 50_000) * 1.5) / 1e9, `spent ${log.spend}`);
  });

  test('a budget applies: budget_exceeded as a rate_limit_error the SDK will not retry', async () => {
    const key = (await api('POST', '/key/generate', { max_budget: 0.000001 })).key;
    await anthropic(key).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch(() => {});
    const err = await anthropic(key).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.ok(err instanceof Anthropic.RateLimitError);
    assert.equal(err.headers.get('x-should-retry'), 'false');
    assert.match((err.error as any).error.message, /Budget has been exceeded/);
  });
});

describe('/v1/messages/count_tokens', () => {
  test("Anthropic's own count for an Anthropic deployment, the gateway's estimate for others", async () => {
    const client = anthropic(MASTER_KEY);
    const messages = [{ role: 'user' as const, content: 'one two three four' }];
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-5', system: 'five six', messages });
    assert.equal(counted.input_tokens, 6);
    const sent = claude.requests.at(-1)!;
    assert.equal(sent.path, '/v1/messages/count_tokens');
    assert.equal(sent.body.model, 'claude-sonnet-4-5-20250929');
    const estimated = await client.messages.countTokens({ model: 'gpt-4o', messages });
    assert.ok(estimated.input_tokens >= 4 && estimated.input_tokens < 20, String(estimated.input_tokens));
  });
});
