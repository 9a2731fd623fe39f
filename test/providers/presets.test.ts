// The OpenAI-compatible presets proven against their documented differences, replayed from recorded
// shapes: Groq's usage under x_groq and again in a usage chunk, Mistral's usage unasked (and its refusal
// of stream_options, so none is sent), OpenRouter's comment frames, `reasoning` field and cost in usage,
// xAI's reasoning tokens beside completion_tokens, DeepSeek's cache hit fields, Perplexity's cumulative
// usage in every chunk and no [DONE], an older Ollama's missing usage, Together's top-level cached_tokens
// and `reasoning`, Fireworks' usage chunk, DeepInfra's unasked usage (and no stream_options sent there),
// Cerebras' stream without [DONE], LM Studio's and vLLM's `reasoning` and vLLM's stop_reason. Each call
// metered exactly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startPresetUpstream } from '../fakes/preset-upstream.ts';
import type { FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let gw: TestGateway;
// 1 $/M input, 0.5 $/M cache reads, 2 $/M output: 1,000 / 500 / 2,000 nano-dollars a token.
const PRICES = 'input_cost_per_token: 0.000001, cache_read_input_token_cost: 0.0000005, output_cost_per_token: 0.000002';
const PRESETS: Record<string, string> = {
  groq: 'groq/moonshotai/kimi-k2-instruct-0905',
  mistral: 'mistral/mistral-large-latest',
  magistral: 'mistral/magistral-medium-2509',
  openrouter: 'openrouter/deepseek/deepseek-v3.2',
  xai: 'xai/grok-4-fast-reasoning',
  deepseek: 'deepseek/deepseek-reasoner',
  perplexity: 'perplexity/sonar',
  ollama: 'ollama/qwen3:8b',
  together: 'together_ai/deepseek-ai/DeepSeek-R1',
  fireworks_ai: 'fireworks_ai/accounts/fireworks/models/deepseek-r1',
  deepinfra: 'deepinfra/meta-llama/Llama-3.3-70B-Instruct',
  cerebras: 'cerebras/qwen-3-235b-a22b-thinking-2507',
  lm_studio: 'lm_studio/openai/gpt-oss-20b',
  hosted_vllm: 'hosted_vllm/Qwen/Qwen3-8B',
};

before(async () => {
  fake = await startPresetUpstream();
  gw = await startInProcess(`model_list:\n${Object.entries(PRESETS)
    .map(([name, model]) => `  - model_name: ${name}\n    litellm_params: { model: "${model}", api_base: "${fake.url}/${name}", api_key: k, ${PRICES} }\n`)
    .join('')}`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

const client = () => new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });

async function record(id: string | null): Promise<any> {
  for (let i = 0; i < 60; i++) {
    const logs = (await (await fetch(`${gw.url}/spend/logs?page_size=100`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
    const found = logs.data.find((l: any) => l.request_id === id);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no record of ${id}`);
}

async function stream(model: string): Promise<{ text: string; usage: any; rec: any; finish: string | null }> {
  const { data, response } = await client().chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  let text = '';
  let usage: any = null;
  let finish: string | null = null;
  for await (const c of data) {
    text += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    if (c.usage) usage = c.usage;
  }
  return { text, usage, finish, rec: await record(response.headers.get('x-litellm-call-id')) };
}

const nanos = (rec: any) => Math.round(rec.spend * 1e9);

test('groq: usage on the finish chunk (top level and x_groq) and in a usage chunk, counted once', async () => {
  const s = await stream('groq');
  assert.equal(s.text, 'Hello from Groq');
  assert.deepEqual([s.rec.prompt_tokens, s.rec.completion_tokens], [20, 3]);
  assert.equal(nanos(s.rec), 20 * 1000 + 3 * 2000);
});

test('mistral: stream_options is never sent (Mistral refuses it), the usage it sends unasked is read', async () => {
  const { data, response } = await client().chat.completions.create({ model: 'mistral', stream: true, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  let text = '';
  for await (const c of data) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'Bonjour from Mistral');
  assert.equal(fake.requests.at(-1)!.body.stream_options, undefined);
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.deepEqual([rec.prompt_tokens, rec.completion_tokens, rec.estimated ?? false], [34, 3, false]);
  // Asked by the client too, it is left out (Mistral would refuse the call), and the usage still comes.
  const asked = await stream('mistral');
  assert.equal(fake.requests.at(-1)!.body.stream_options, undefined);
  assert.deepEqual([asked.usage.prompt_tokens, asked.usage.completion_tokens], [34, 3]);
});

test('openrouter: comment frames, the `reasoning` field, its cost-bearing usage chunk', async () => {
  const s = await stream('openrouter');
  assert.equal(s.text, 'Hi there');
  assert.equal(s.finish, 'stop');
  assert.deepEqual([s.rec.prompt_tokens, s.rec.completion_tokens], [13, 9]);
  assert.equal(nanos(s.rec), 13 * 1000 + 9 * 2000, 'priced by the gateway, not by OpenRouter\'s cost');
});

test("xai: reasoning tokens outside completion_tokens are billed as output; cached prompt tokens at the cache price", async () => {
  const s = await stream('xai');
  // 126 prompt (125 cached), 2 completion + 123 reasoning.
  assert.deepEqual([s.rec.prompt_tokens, s.rec.completion_tokens], [126, 125]);
  assert.equal(nanos(s.rec), 1 * 1000 + 125 * 500 + 125 * 2000);
  const { response } = await client().chat.completions.create({ model: 'xai', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  assert.equal(nanos(await record(response.headers.get('x-litellm-call-id'))), nanos(s.rec), 'the same whole or streamed');
});

test("deepseek: prompt_cache_hit_tokens as cache reads, reasoning_content relayed", async () => {
  const { data: r, response } = await client().chat.completions.create({ model: 'deepseek', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  assert.equal((r.choices[0]!.message as any).reasoning_content, 'The user greets me.');
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.equal(nanos(rec), 4 * 1000 + 6 * 500 + 11 * 2000);
});

test('perplexity: cumulative usage in every chunk counted once, citations relayed, complete without [DONE]', async () => {
  const { data, response } = await client().chat.completions.create({ model: 'perplexity', stream: true, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  let text = '';
  let citations: unknown;
  for await (const c of data as any) {
    text += c.choices[0]?.delta?.content ?? '';
    citations ??= c.citations;
  }
  assert.equal(text, 'The sky is blue.');
  assert.deepEqual(citations, ['https://example.com/a']);
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.equal(rec.status, 'success');
  assert.deepEqual([rec.prompt_tokens, rec.completion_tokens], [8, 5]);
});

test('ollama without usage: estimated from the prompt and the text seen, reasoning included', async () => {
  const s = await stream('ollama');
  assert.equal(s.text, 'Hello there, friend');
  assert.equal(s.rec.estimated, true);
  // "Okay, the user says hi." (23) + "Hello there, friend" (19) characters: 11 tokens at four a token.
  assert.equal(s.rec.completion_tokens, 11);
});

test("mistral: other providers' tool call ids are mapped to Mistral's 9 letters and digits, call and result alike", async () => {
  const calls = [
    { id: 'call_PTLP8xhu3uwZk4l3nlnrrJha', type: 'function' as const, function: { name: 'read', arguments: '{}' } },
    { id: 'D681PevKs', type: 'function' as const, function: { name: 'list', arguments: '{}' } },
  ];
  const s = await client().chat.completions.create({
    model: 'mistral',
    stream: true,
    messages: [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: null, tool_calls: calls },
      { role: 'tool', tool_call_id: calls[0]!.id, content: 'a' },
      { role: 'tool', tool_call_id: calls[1]!.id, content: 'b' },
    ],
  });
  for await (const _ of s) void _;
  const sent = fake.requests.at(-1)!.body.messages;
  const [mapped, kept] = sent[1].tool_calls.map((c: any) => c.id);
  assert.match(mapped, /^[a-zA-Z0-9]{9}$/);
  assert.equal(kept, 'D681PevKs', "Mistral's own id unchanged");
  assert.deepEqual([sent[2].tool_call_id, sent[3].tool_call_id], [mapped, kept], 'each result still answers its call');
});

test("mistral's reasoning models: content as a list of thinking and text blocks comes out as OpenAI's content and reasoning_content", async () => {
  const { data: r, response } = await client().chat.completions.create({ model: 'magistral', max_completion_tokens: 500, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  assert.equal(r.choices[0]!.message.content, 'Hello there');
  assert.equal((r.choices[0]!.message as any).reasoning_content, 'The user wants a greeting.');
  const sent = fake.requests.at(-1)!.body;
  assert.deepEqual([sent.max_tokens, sent.max_completion_tokens], [500, undefined], 'Mistral takes max_tokens only');
  assert.equal((await record(response.headers.get('x-litellm-call-id'))).completion_tokens, 30);
  const { data } = await client().chat.completions.create({ model: 'magistral', stream: true, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  let text = '';
  let reasoning = '';
  for await (const c of data as any) {
    text += c.choices[0]?.delta?.content ?? '';
    reasoning += c.choices[0]?.delta?.reasoning_content ?? '';
  }
  assert.deepEqual([text, reasoning], ['Hello there', 'The user wants a greeting.']);
  // Anthropic clients get a thinking block and a text block.
  const m = await new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 }).messages.stream({ model: 'magistral', max_tokens: 200, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
  assert.deepEqual(m.content.map((b: any) => b.type), ['thinking', 'text']);
  assert.equal((m.content[1] as any).text, 'Hello there');
});

/** A call whole: its text, the reasoning under the provider's own name, and its record. */
async function whole(model: string): Promise<{ message: any; rec: any }> {
  const { data, response } = await client().chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  return { message: data.choices[0]!.message, rec: await record(response.headers.get('x-litellm-call-id')) };
}

test('together_ai: usage on the finish chunk with its top-level cached_tokens (cache reads), `reasoning` relayed', async () => {
  const s = await stream('together');
  assert.equal(s.text, 'Hello from Together');
  assert.equal(fake.requests.at(-1)!.body.stream_options?.include_usage, true);
  assert.deepEqual([s.rec.prompt_tokens, s.rec.completion_tokens], [39, 25]);
  assert.equal(nanos(s.rec), 7 * 1000 + 32 * 500 + 25 * 2000);
  const w = await whole('together');
  assert.equal(w.message.reasoning, 'The user says hi.');
  assert.equal(nanos(w.rec), nanos(s.rec), 'the same whole or streamed');
});

test('fireworks_ai: usage in its own chunk with no choices, reasoning_content relayed', async () => {
  const { data, response } = await client().chat.completions.create({ model: 'fireworks_ai', stream: true, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  let text = '';
  let reasoning = '';
  for await (const c of data as any) {
    text += c.choices[0]?.delta?.content ?? '';
    reasoning += c.choices[0]?.delta?.reasoning_content ?? '';
  }
  assert.deepEqual([text, reasoning], ['Hi from Fireworks', 'A greeting.']);
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.deepEqual([rec.prompt_tokens, rec.completion_tokens], [14, 26]);
  assert.equal(nanos((await whole('fireworks_ai')).rec), 14 * 1000 + 26 * 2000);
});

test('deepinfra: no stream_options sent (its usage comes unasked on the last chunk), its estimated_cost not used', async () => {
  const s = await stream('deepinfra');
  assert.equal(s.text, 'Hello from DeepInfra');
  assert.equal(fake.requests.at(-1)!.body.stream_options, undefined);
  assert.deepEqual([s.usage.prompt_tokens, s.usage.completion_tokens], [11, 5], 'the client asked for usage and gets it');
  assert.equal(nanos(s.rec), 11 * 1000 + 5 * 2000);
  assert.equal(nanos((await whole('deepinfra')).rec), 11 * 1000 + 5 * 2000);
});

test('cerebras: a stream that ends without [DONE] is complete, cached tokens read from prompt_tokens_details', async () => {
  const s = await stream('cerebras');
  assert.equal(s.text, 'Oi from Cerebras');
  assert.equal(s.finish, 'stop');
  assert.equal(s.rec.status, 'success');
  assert.equal(nanos(s.rec), 6 * 1000 + 16 * 500 + 3 * 2000);
  const w = await whole('cerebras');
  assert.equal(w.message.reasoning, 'Short answer.');
  assert.equal(nanos(w.rec), nanos(s.rec));
});

test("lm_studio: gpt-oss's `reasoning` relayed, and a thinking block for Anthropic clients", async () => {
  const s = await stream('lm_studio');
  assert.equal(s.text, 'Hello from LM Studio');
  assert.deepEqual([s.rec.prompt_tokens, s.rec.completion_tokens], [12, 9]);
  const m = await new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 }).messages.stream({ model: 'lm_studio', max_tokens: 200, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
  assert.deepEqual(m.content.map((b: any) => b.type), ['thinking', 'text']);
  assert.equal((m.content[0] as any).thinking, 'Say hello.');
  assert.deepEqual([m.usage.input_tokens, m.usage.output_tokens], [12, 9]);
});

test("hosted_vllm: `reasoning` streamed and reasoning_content whole (vLLM's two names), its stop_reason relayed, usage in its own chunk", async () => {
  const { data, response } = await client().chat.completions.create({ model: 'hosted_vllm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  let text = '';
  let reasoning = '';
  let stopReason: unknown;
  for await (const c of data as any) {
    text += c.choices[0]?.delta?.content ?? '';
    reasoning += c.choices[0]?.delta?.reasoning ?? '';
    if (c.choices[0] && 'stop_reason' in c.choices[0]) stopReason = c.choices[0].stop_reason;
  }
  assert.deepEqual([text, reasoning, stopReason], ['Hi from vLLM', 'Greet back.', null]);
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.equal(nanos(rec), 10 * 1000 + 5 * 2000);
  const w = await whole('hosted_vllm');
  assert.equal(w.message.reasoning_content, 'Greet back.');
  assert.equal(nanos(w.rec), nanos(rec));
});
