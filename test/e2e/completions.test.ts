// OpenAI's legacy completions route through the openai SDK's completions.create: passed through to an
// OpenAI-compatible server that has it (prompt lists and echo as it takes them, usage metered, streamed
// with the usage chunk the gateway asks for), and translated through chat for Claude (the prompt as a
// user message, the answer's text as the completion's, whole and streamed); what has no chat
// counterpart is a 400 naming it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, spendLogOf, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let gpt: FakeUpstream;
let claude: FakeUpstream;
let gw: TestGateway;

before(async () => {
  gpt = await startFakeOpenAI({ apiKey: 'sk-up' });
  claude = await startFakeAnthropic({ apiKey: 'sk-ant' });
  gw = await startInProcess(`model_list:
  - model_name: instruct
    litellm_params: { model: openai/gpt-3.5-turbo-instruct, api_base: "${gpt.url}", api_key: sk-up, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5-20250929, api_base: "${claude.url}", api_key: sk-ant, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
`);
});
after(async () => {
  await gw.close();
  await gpt.close();
  await claude.close();
});

const client = () => new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });

test('passed through to a server that has /completions: the body as sent, usage metered, streamed with usage', async () => {
  const { data: r, response } = await client().completions.create({ model: 'instruct', prompt: ['Say this is a test', 'and again'], max_tokens: 50, echo: true }).withResponse();
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 2);
  assert.match(r.choices[0]!.text, /^Say this is a testHello!/);
  const sent = gpt.requests.at(-1)!;
  assert.equal(sent.path, '/v1/completions');
  assert.deepEqual(sent.body, { model: 'gpt-3.5-turbo-instruct', prompt: ['Say this is a test', 'and again'], max_tokens: 50, echo: true });
  const rec = await spendLogOf(gw.url, response.headers.get('x-litellm-call-id'));
  assert.equal(rec.call_type, 'atext_completion');
  assert.equal(Math.round(rec.spend * 1e9), 7 * 1000 + 30 * 2000);

  const { data: stream, response: sr } = await client().completions.create({ model: 'instruct', prompt: 'hi', stream: true }).withResponse();
  let text = '';
  for await (const c of stream) text += c.choices[0]?.text ?? '';
  assert.equal(text, 'Hello! I am a fake model and I am doing well, thank you for asking.');
  assert.deepEqual(gpt.requests.at(-1)!.body.stream_options, { include_usage: true });
  const srec = await spendLogOf(gw.url, sr.headers.get('x-litellm-call-id'));
  assert.deepEqual([srec.prompt_tokens, srec.completion_tokens, srec.estimated ?? false], [1, 15, false]);
});

test('translated for Claude: the prompt as a user message, the text back, whole and streamed; no chat counterpart is a 400', async () => {
  const r = await client().completions.create({ model: 'claude', prompt: 'Write a haiku', max_tokens: 100 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0]!.text, 'Hello! I am a fake Claude and I am doing well, thank you for asking.');
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  assert.deepEqual([r.usage!.prompt_tokens, r.usage!.completion_tokens], [3, 15]);
  assert.deepEqual(claude.requests.at(-1)!.body.messages, [{ role: 'user', content: [{ type: 'text', text: 'Write a haiku' }] }]);

  const stream = await client().completions.create({ model: 'claude', prompt: 'hi', max_tokens: 100, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage: any = null;
  let finish = null;
  for await (const c of stream) {
    text += c.choices[0]?.text ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    if (c.usage) usage = c.usage;
  }
  assert.equal(text, 'Hello! I am a fake Claude and I am doing well, thank you for asking.');
  assert.equal(finish, 'stop');
  assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [1, 15]);

  await assert.rejects(client().completions.create({ model: 'claude', prompt: 'hi', suffix: 'end' }), (e: any) => e.status === 400 && e.error.param === 'suffix');
  await assert.rejects(client().completions.create({ model: 'claude', prompt: ['a', 'b'] }), (e: any) => e.status === 400 && e.error.param === 'prompt');
  await assert.rejects(client().completions.create({ model: 'claude' } as any), (e: any) => e.status === 400 && e.error.param === 'prompt');
});
