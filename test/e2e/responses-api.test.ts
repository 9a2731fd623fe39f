// OpenAI's Responses API in front, through the official openai SDK's responses.create and its stream
// helper: passed through to OpenAI's own Responses API (the client's bytes, model rewritten, usage read
// from response.completed), and translated for Claude (the reference's event sequence, checked event by
// event: sequence numbers, item ids, indexes), with function tools and their outputs, Claude's signed
// thinking carried across turns in encrypted_content, built-in tools refused where they cannot run,
// budgets held under 100 parallel streams, and a stream cut by the budget ending with response.failed
// and an error event the SDK raises.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { FAKE_SIGNATURE, startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, spendLogOf, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let gpt: FakeUpstream;
let claude: FakeUpstream;
let azure: FakeUpstream;
let gw: TestGateway;

before(async () => {
  gpt = await startFakeOpenAI({ apiKey: 'sk-up' });
  claude = await startFakeAnthropic({ apiKey: 'sk-ant' });
  azure = await startFakeOpenAI({ azureKey: 'az-key' });
  gw = await startInProcess(`model_list:
  - model_name: gpt
    litellm_params: { model: openai/gpt-5, api_base: "${gpt.url}", api_key: sk-up, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5-20250929, api_base: "${claude.url}", api_key: sk-ant, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
    model_info: { supports_reasoning: true }
  - model_name: azure-v1
    litellm_params: { model: azure/my-gpt-5, api_base: "${azure.url.replace(/\/v1$/, '')}", api_key: az-key, api_version: v1 }
  - model_name: azure-dated
    litellm_params: { model: azure/my-gpt-5, api_base: "${azure.url.replace(/\/v1$/, '')}", api_key: az-key, api_version: 2025-04-01-preview }
`);
});
after(async () => {
  await gw.close();
  await gpt.close();
  await claude.close();
  await azure.close();
});

const client = (key = MASTER_KEY) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const TOOL = { type: 'function' as const, name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] }, strict: false };

/** The raw events of a Responses stream from the gateway. */
async function events(body: Record<string, unknown>, key = MASTER_KEY): Promise<{ status: number; events: any[]; callId: string | null }> {
  const r = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  const text = await r.text();
  const out = text
    .split('\n\n')
    .filter((f) => f.includes('data: '))
    .map((f) => {
      const type = /^event: (.*)$/m.exec(f)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(f)![1]!);
      assert.equal(type, data.type, 'the event line names the data\'s type');
      return data;
    });
  return { status: r.status, events: out, callId: r.headers.get('x-litellm-call-id') };
}

/** The reference's rules: numbered from 0 without gaps, created first, each item added before its deltas and done after. */
function checkSequence(evs: any[], complete = true): void {
  evs.forEach((e, i) => assert.equal(e.sequence_number, i, `${e.type} is number ${i}`));
  assert.equal(evs[0].type, 'response.created');
  assert.equal(evs[1].type, 'response.in_progress');
  const added = new Map<number, string>();
  const done = new Set<number>();
  for (const e of evs) {
    if (e.type === 'response.output_item.added') added.set(e.output_index, e.item.id);
    else if (e.type === 'response.output_item.done') {
      assert.equal(added.get(e.output_index), e.item.id, 'done for the item added at that index');
      done.add(e.output_index);
    } else if (typeof e.item_id === 'string') {
      assert.equal(added.get(e.output_index), e.item_id, `${e.type} names the item at its index`);
      assert.ok(!done.has(e.output_index), `${e.type} after the item was done`);
    }
  }
  if (complete) assert.deepEqual([...added.keys()].sort(), [...done].sort(), 'every item added is done');
}

test('to OpenAI: responses.create passes through with only the model rewritten, usage metered from the answer', async () => {
  const { data: r, response } = await client().responses.create({ model: 'gpt', input: 'hello there', instructions: 'Be brief.', metadata: { team: 'a' }, store: false }).withResponse();
  assert.equal(r.output_text, 'Hello! I am a fake model and I am doing well, thank you for asking.');
  const sent = gpt.requests.at(-1)!;
  assert.equal(sent.path, '/v1/responses');
  assert.deepEqual(sent.body, { model: 'gpt-5', input: 'hello there', instructions: 'Be brief.', metadata: { team: 'a' }, store: false });
  const rec = await spendLogOf(gw.url, response.headers.get('x-litellm-call-id'));
  assert.equal(rec.call_type, 'aresponses');
  assert.deepEqual([rec.prompt_tokens, rec.completion_tokens], [4, 15]);
  assert.equal(Math.round(rec.spend * 1e9), 4 * 1000 + 15 * 2000);
});

test("to OpenAI, streamed: OpenAI's events relayed as they are, response.completed last, usage metered", async () => {
  const s = await events({ model: 'gpt', input: 'hi' });
  checkSequence(s.events);
  assert.equal(s.events.at(-1).type, 'response.completed');
  assert.equal(s.events.at(-1).response.id, 'resp_fake' + /\d+/.exec(s.events[0].response.id)![0]);
  const rec = await spendLogOf(gw.url, s.callId);
  assert.deepEqual([rec.prompt_tokens, rec.completion_tokens, rec.stream], [1, 15, true]);
});

test('to Claude: translated, whole and streamed, the event sequence as the reference has it', async () => {
  const r = await client().responses.create({ model: 'claude', input: [{ role: 'user', content: 'hi' }], instructions: 'Be brief.', max_output_tokens: 500 });
  assert.equal(r.status, 'completed');
  assert.equal(r.output_text, 'Hello! I am a fake Claude and I am doing well, thank you for asking.');
  assert.match(r.id, /^resp_/);
  assert.deepEqual([r.usage!.input_tokens, r.usage!.output_tokens], [3, 15]);
  const sent = claude.requests.at(-1)!.body;
  assert.deepEqual([sent.system, sent.max_tokens, sent.messages], [[{ type: 'text', text: 'Be brief.' }], 500, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]]);

  const s = await events({ model: 'claude', input: 'hi' });
  checkSequence(s.events);
  const types = s.events.map((e) => e.type);
  assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
  assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
  const text = s.events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
  assert.equal(text, 'Hello! I am a fake Claude and I am doing well, thank you for asking.');
  const done = s.events.at(-1).response;
  assert.equal(done.output[0].content[0].text, text);
  assert.deepEqual([done.usage.input_tokens, done.usage.output_tokens], [1, 15]);
  const rec = await spendLogOf(gw.url, s.callId);
  assert.equal(Math.round(rec.spend * 1e9), 1 * 1000 + 15 * 2000);
});

test("the SDK's stream helper accepts the translated stream, and a tool call becomes a function_call item whose output goes back", async () => {
  const stream = client().responses.stream({ model: 'claude', input: 'read it [[fixture:tool-use]]', tools: [TOOL] });
  const final = await stream.finalResponse();
  const call = final.output.find((o) => o.type === 'function_call') as any;
  assert.ok(call, JSON.stringify(final.output));
  assert.match(call.id, /^fc_/);
  assert.equal(call.name, 'get_weather');
  const sentTools = claude.requests.at(-1)!.body.tools;
  assert.deepEqual(sentTools, [{ name: 'read_file', description: 'Read a file', input_schema: TOOL.parameters }]);

  await client().responses.create({
    model: 'claude',
    tools: [TOOL],
    input: [
      { role: 'user', content: 'read it' },
      { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: 'the weather is fine' },
    ],
  });
  const msgs = claude.requests.at(-1)!.body.messages;
  assert.equal(msgs[1].content[0].type, 'tool_use');
  assert.equal(msgs[1].content[0].id, call.call_id);
  assert.deepEqual(msgs[2].content[0], { type: 'tool_result', tool_use_id: call.call_id, content: 'the weather is fine' });
});

test("Claude's thinking comes out as a reasoning item whose encrypted_content carries the signed block back", async () => {
  const r = await client().responses.create({ model: 'claude', input: 'think', reasoning: { effort: 'low' }, max_output_tokens: 3000 });
  const reasoning = r.output.find((o) => o.type === 'reasoning') as any;
  assert.equal(reasoning.summary[0].text, 'Thinking about it.');
  assert.match(reasoning.encrypted_content, /^llmproxy-thinking:/);
  await client().responses.create({ model: 'claude', reasoning: { effort: 'low' }, max_output_tokens: 3000, input: [{ role: 'user', content: 'think' }, reasoning, ...r.output.filter((o) => o.type === 'message'), { role: 'user', content: 'more' }] as any });
  const turn = claude.requests.at(-1)!.body.messages[1];
  assert.deepEqual(turn.content[0], { type: 'thinking', thinking: 'Thinking about it.', signature: FAKE_SIGNATURE });
});

test('what a translated upstream cannot do is a 400 naming the field: built-in tools (unless drop_params), conversation; an unknown previous_response_id is a 404', async () => {
  await assert.rejects(client().responses.create({ model: 'claude', input: 'hi', tools: [{ type: 'web_search' } as any] }), (e: any) => e.status === 400 && e.error.param === 'tools[0]' && /built-in tool "web_search"/.test(e.message));
  await client().responses.create({ model: 'claude', input: 'hi', tools: [{ type: 'web_search' } as any, TOOL], drop_params: true } as any);
  assert.deepEqual(claude.requests.at(-1)!.body.tools.map((t: any) => t.name), ['read_file']);
  await assert.rejects(client().responses.create({ model: 'claude', input: 'hi', previous_response_id: 'resp_x' }), (e: any) => e.status === 404 && e.error.param === 'previous_response_id');
  await assert.rejects(client().responses.create({ model: 'claude', input: 'hi', conversation: 'conv_1' } as any), (e: any) => e.status === 400 && e.error.param === 'conversation');
  await assert.rejects(client().responses.create({ model: 'nope', input: 'hi' }), (e: any) => e.status === 400 && e.error.param === 'model');
});

test('budgets hold on /v1/responses: 100 parallel streams on a budget for 10, spend exactly what was answered', async () => {
  // One answer: 1 prompt token + 15 output tokens at 1,000 / 2,000 nano-dollars = 31,000.
  const answer = 1 * 1000 + 15 * 2000;
  const key = (await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ max_budget: (10 * answer) / 1e9 }) })).json() as any).key;
  const results = await Promise.all(Array.from({ length: 100 }, () => events({ model: 'claude', input: 'hi', max_output_tokens: 20 }, key).catch(() => null)));
  const ok = results.filter((r) => r && r.status === 200 && r.events.at(-1)?.type === 'response.completed');
  const refused = results.filter((r) => r && r.status === 429);
  assert.equal(ok.length + refused.length, 100);
  const logs = (await (await fetch(`${gw.url}/spend/logs?api_key=${key}&page_size=1000`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
  const spent = logs.data.reduce((n: number, l: any) => n + Math.round(l.spend * 1e9), 0);
  assert.ok(spent <= 10 * answer, `spent ${spent}`);
  assert.equal(spent, ok.length * answer);
  assert.ok(ok.length >= 3, `${ok.length} answered`);
  assert.deepEqual(gw.app.ctx.limiter.held(), { reservations: 0, slots: 0 });
});

test('a stream the budget cuts ends with response.failed and an error event, which the SDK raises', async () => {
  const key = (await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ max_budget: (5_000 + 50 * 2000) / 1e9 }) })).json() as any).key;
  const s = await events({ model: 'claude', input: 'go [[words:2000]]', max_output_tokens: 100_000 }, key);
  const last = s.events.slice(-2).map((e) => e.type);
  assert.deepEqual(last, ['response.failed', 'error']);
  assert.equal(s.events.at(-1).code, 'budget_exceeded');
  // (numbered to the end; the item the cut stopped is left open, as the response failed)
  checkSequence(s.events, false);
  await assert.rejects(
    (async () => {
      const stream = await client(key).responses.create({ model: 'claude', input: 'go [[words:2000]]', max_output_tokens: 100_000, stream: true });
      for await (const _ of stream) void _;
    })(),
    (e: any) => /Budget/.test(e.message),
  );
});

const newKey = async () => ((await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: '{}' })).json()) as any).key as string;

test('previous_response_id for Claude: the gateway keeps the conversation (streamed turns too), for the key that made it only', async () => {
  const key = await newKey();
  const first = await client(key).responses.create({ model: 'claude', input: 'My name is Ada.', instructions: 'Be brief.' });
  const second = await events({ model: 'claude', input: 'What is my name?', previous_response_id: first.id }, key);
  assert.equal(second.status, 200);
  let sent = claude.requests.at(-1)!.body;
  assert.deepEqual(sent.messages.map((m: any) => [m.role, m.content.map((b: any) => b.text).join('')]), [
    ['user', 'My name is Ada.'],
    ['assistant', first.output_text],
    ['user', 'What is my name?'],
  ]);
  assert.equal(sent.system, undefined, "instructions are not carried over, as OpenAI's are not");
  const secondId = second.events.at(-1).response.id;
  await client(key).responses.create({ model: 'claude', input: 'And now?', previous_response_id: secondId });
  sent = claude.requests.at(-1)!.body;
  assert.equal(sent.messages.length, 5, 'three turns: the streamed one kept too');

  // Another key, and the master key, cannot use it; retrieval is the owner's too.
  const other = await newKey();
  await assert.rejects(client(other).responses.create({ model: 'claude', input: 'x', previous_response_id: first.id }), (e: any) => e.status === 404);
  await assert.rejects(client(other).responses.retrieve(first.id), (e: any) => e.status === 404);
  const got = await client(key).responses.retrieve(first.id);
  assert.equal(got.output_text, first.output_text);
  const items = await client(key).responses.inputItems.list(secondId, { order: 'asc' });
  assert.deepEqual(items.data.map((i: any) => i.type ?? 'message'), ['message', 'message', 'message']);
  await assert.rejects(client(key).responses.cancel(first.id), (e: any) => e.status === 400);
  await client(key).responses.delete(first.id);
  await assert.rejects(client(key).responses.retrieve(first.id), (e: any) => e.status === 404);

  // Kept for responses_retention_period (30 days unless set): pruned past it.
  const kept = await client(key).responses.create({ model: 'claude', input: 'keep me' });
  assert.equal(await gw.app.ctx.responses.prune(new Date(Date.now() + 60_000).toISOString()) >= 1, true);
  await assert.rejects(client(key).responses.retrieve(kept.id), (e: any) => e.status === 404);

  // store: false keeps nothing.
  const unstored = await client(key).responses.create({ model: 'claude', input: 'hi', store: false });
  await assert.rejects(client(key).responses.create({ model: 'claude', input: 'x', previous_response_id: unstored.id }), (e: any) => e.status === 404);
});

test("OpenAI's own ids: passed on with previous_response_id to the deployment that made them, and only for the key that did", async () => {
  const key = await newKey();
  const first = await client(key).responses.create({ model: 'gpt', input: 'hello' });
  await client(key).responses.create({ model: 'gpt', input: 'again', previous_response_id: first.id });
  assert.equal(gpt.requests.at(-1)!.body.previous_response_id, first.id);
  const before = gpt.requests.length;
  await assert.rejects(client(await newKey()).responses.create({ model: 'gpt', input: 'x', previous_response_id: first.id }), (e: any) => e.status === 404);
  await assert.rejects(client(key).responses.create({ model: 'gpt', input: 'x', previous_response_id: 'resp_made_elsewhere' }), (e: any) => e.status === 404);
  assert.equal(gpt.requests.length, before, "an id not the key's own never reaches OpenAI");
});

test("to Azure: its own Responses API, at the v1 API's address or with a dated preview version, the deployment in the body's model", async () => {
  const a = await client().responses.create({ model: 'azure-v1', input: 'hi' });
  assert.match(a.output_text, /fake model/);
  assert.equal(azure.requests.at(-1)!.path, '/openai/v1/responses');
  assert.equal(azure.requests.at(-1)!.headers['api-key'], 'az-key');
  assert.equal(azure.requests.at(-1)!.body.model, 'my-gpt-5');
  await client().responses.create({ model: 'azure-dated', input: 'hi' });
  assert.equal(azure.requests.at(-1)!.path, '/openai/responses?api-version=2025-04-01-preview');
});

test('mends: background refused; OpenAI-side conversation and item_reference refused; an OpenAI id used on another group is a 400', async () => {
  await assert.rejects(client().responses.create({ model: 'gpt', input: 'hi', background: true }), (e: any) => e.status === 400 && e.error.param === 'background');
  await assert.rejects(client().responses.create({ model: 'gpt', input: 'hi', conversation: 'conv_x' } as any), (e: any) => e.status === 400 && e.error.param === 'conversation');
  await assert.rejects(client().responses.create({ model: 'gpt', input: [{ type: 'item_reference', id: 'msg_x' }] as any }), (e: any) => e.status === 400 && e.error.param === 'input');
  const key = await newKey();
  const first = await client(key).responses.create({ model: 'gpt', input: 'hello' });
  await assert.rejects(client(key).responses.create({ model: 'claude', input: 'x', previous_response_id: first.id }), (e: any) => e.status === 400 && e.error.param === 'previous_response_id');
});

test("mends: a conversation the gateway kept, continued on OpenAI, goes without the gateway's reasoning items and ids", async () => {
  const key = await newKey();
  const first = await client(key).responses.create({ model: 'claude', input: 'think', reasoning: { effort: 'low' }, max_output_tokens: 3000 });
  assert.ok(first.output.some((o) => o.type === 'reasoning'));
  await client(key).responses.create({ model: 'gpt', input: 'go on', previous_response_id: first.id });
  const input = gpt.requests.at(-1)!.body.input;
  assert.equal(gpt.requests.at(-1)!.body.previous_response_id, undefined);
  assert.ok(!input.some((i: any) => i.type === 'reasoning'), JSON.stringify(input));
  assert.ok(!input.some((i: any) => typeof i.id === 'string'), 'no ids OpenAI would look up');
  assert.equal(input.at(-1).content[0].text, 'go on');
});
