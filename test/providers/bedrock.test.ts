// bedrock/ deployments through the official OpenAI and Anthropic SDKs as clients, against a fake Bedrock
// runtime that checks every call's SigV4 signature with AWS's signer and streams in AWS's binary event
// framing: Converse and ConverseStream for both inbound APIs (text, tools, images, reasoning with its
// signature sent back byte for byte, cache points), InvokeModel for Claude, guardrails as content-policy
// errors, Bedrock's errors with their status, Bedrock API keys, STS AssumeRole and web identity, and
// usage priced from Bedrock's own prices.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { calcPrice } from '@pydantic/genai-prices';
import { BEDROCK_SIGNATURE, eventMessage, startFakeBedrock, type FakeBedrock } from '../fakes/bedrock-upstream.ts';
import { ConverseToAnthropicStream } from '../../src/providers/bedrock/response.ts';
import { FAKE_SIGNATURE, startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import type { FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, spendLogOf, startInProcess, writeConfig, type TestGateway } from '../helpers/gateway.ts';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp.ts';

const KEYS = { accessKeyId: 'AKIAFAKEBEDROCK00001', secretAccessKey: 'fake/secret/key/for/bedrock/tests/000001' };
const MASTER = { accessKeyId: 'AKIAFAKEMASTER000001', secretAccessKey: 'fake/secret/key/of/the/role/assumer/0001' };
const API_KEY = 'ABSKQmVkcm9ja0FQSUtleS1mYWtl';
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const NOVA = 'amazon.nova-pro-v1:0';

let claude: FakeUpstream;
let aws: FakeBedrock;
let gw: TestGateway;
let tokenFile: string;

before(async () => {
  // A profile in a credentials file, and keys in the environment for AWS's default chain.
  const dir = tempDir('aws');
  writeFileSync(join(dir, 'credentials'), `[bedrock-test]\naws_access_key_id = ${KEYS.accessKeyId}\naws_secret_access_key = ${KEYS.secretAccessKey}\n`);
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
  process.env.AWS_ACCESS_KEY_ID = KEYS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = KEYS.secretAccessKey;
  delete process.env.AWS_BEARER_TOKEN_BEDROCK;
  tokenFile = join(dir, 'web-identity-token');
  writeFileSync(tokenFile, 'eyJfake.file.identity');
  claude = await startFakeAnthropic();
  aws = await startFakeBedrock({ keys: [KEYS, MASTER], apiKeys: [API_KEY], webIdentityTokens: ['eyJfake.web.identity', 'eyJfake.file.identity'], anthropic: claude });
  const creds = `aws_access_key_id: ${KEYS.accessKeyId}, aws_secret_access_key: ${KEYS.secretAccessKey}, aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${aws.url}"`;
  gw = await startInProcess(`model_list:
  - model_name: sonnet
    litellm_params: { model: bedrock/${SONNET}, ${creds} }
  - model_name: nova
    litellm_params: { model: bedrock/converse/${NOVA}, ${creds} }
  - model_name: invoke
    litellm_params: { model: bedrock/invoke/anthropic.claude-3-5-haiku-20241022-v1:0, ${creds} }
  - model_name: keyed
    litellm_params: { model: bedrock/${NOVA}, api_key: ${API_KEY}, aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${aws.url}" }
  - model_name: role
    litellm_params: { model: bedrock/${NOVA}, aws_access_key_id: ${MASTER.accessKeyId}, aws_secret_access_key: ${MASTER.secretAccessKey}, aws_role_name: "arn:aws:iam::123456789012:role/bedrock-caller", aws_session_name: llm-proxy-test, aws_sts_endpoint: "${aws.stsUrl}", aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${aws.url}" }
  - model_name: web
    litellm_params: { model: bedrock/${NOVA}, aws_web_identity_token: eyJfake.web.identity, aws_role_name: "arn:aws:iam::123456789012:role/bedrock-web", aws_session_name: web, aws_sts_endpoint: "${aws.stsUrl}", aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${aws.url}" }
  - model_name: profile
    litellm_params: { model: bedrock/${NOVA}, aws_profile_name: bedrock-test, aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${aws.url}" }
  - model_name: ambient
    litellm_params: { model: bedrock/${NOVA}, aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${aws.url}" }
  - model_name: profiled-arn
    litellm_params: { model: bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0, model_id: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", ${creds} }
  - model_name: wrong-secret
    litellm_params: { model: bedrock/${NOVA}, aws_access_key_id: ${KEYS.accessKeyId}, aws_secret_access_key: not-the-secret, aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${aws.url}" }
  - model_name: priced
    litellm_params: { model: bedrock/${NOVA}, ${creds}, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: cached
    litellm_params: { model: bedrock/${SONNET}, ${creds}, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, cache_creation_input_token_cost: 0.00000125, cache_creation_input_token_cost_above_1hr: 0.000002 }
  - model_name: web-file
    litellm_params: { model: bedrock/${NOVA}, aws_web_identity_token: "${tokenFile}", aws_role_name: "arn:aws:iam::123456789012:role/bedrock-web", aws_session_name: web, aws_sts_endpoint: "${aws.stsUrl}", aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${aws.url}" }
  - model_name: titan
    litellm_params: { model: bedrock/amazon.titan-embed-text-v2:0, ${creds} }
  - model_name: cohere-embed
    litellm_params: { model: bedrock/cohere.embed-english-v3, ${creds} }
  - model_name: guarded
    litellm_params: { model: bedrock/${NOVA}, ${creds}, guardrailConfig: { guardrailIdentifier: gr1, guardrailVersion: "1", trace: enabled } }
`);
});
after(async () => {
  await gw.close();
  await aws.close();
  await claude.close();
});

const openai = () => new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
const anthropic = () => new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
const sent = () => aws.requests.at(-1)!;

const record = (callId: string | null) => spendLogOf(gw.url, callId);

const TOOLS = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];

test('a chat call: signed with SigV4, the model id encoded in the path, the body in Converse form, priced at Bedrock\'s price', async () => {
  const { data: r, response } = await openai()
    .chat.completions.create({
      model: 'sonnet',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi there' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'how are you' },
      ],
      max_tokens: 100,
      temperature: 0.5,
      stop: ['END'],
    })
    .withResponse();
  assert.match(r.choices[0]!.message.content!, /fake Bedrock model/);
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  const s = sent();
  assert.equal(s.path, `/model/${encodeURIComponent(SONNET)}/converse`);
  assert.match(String(s.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIAFAKEBEDROCK00001\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
  assert.deepEqual(s.body.system, [{ text: 'Be brief.' }]);
  assert.deepEqual(s.body.messages, [
    { role: 'user', content: [{ text: 'hi there' }] },
    { role: 'assistant', content: [{ text: 'Hello.' }] },
    { role: 'user', content: [{ text: 'how are you' }] },
  ]);
  assert.deepEqual(s.body.inferenceConfig, { maxTokens: 100, temperature: 0.5, stopSequences: ['END'] });
  // Usage: the fake counts words (2 + 2 + 1 + 3 = 8 in, 12 out).
  assert.deepEqual([r.usage!.prompt_tokens, r.usage!.completion_tokens], [8, 12]);
  const rec = await record(response.headers.get('x-litellm-call-id'));
  const price = calcPrice({ input_tokens: 8, output_tokens: 12 }, SONNET, { providerId: 'aws' })!;
  assert.equal(rec.spend, Number(price.total_price.toFixed(12)), "Bedrock's own price (its regional one), not Anthropic's");
  assert.notEqual(price.total_price, calcPrice({ input_tokens: 8, output_tokens: 12 }, 'claude-sonnet-4-5-20250929', { providerId: 'anthropic' })!.total_price);
});

test('a streamed chat call: ConverseStream\'s binary events become chat chunks, usage last', async () => {
  const stream = await openai().chat.completions.create({ model: 'nova', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage: any = null;
  let finish = null;
  for await (const c of stream) {
    text += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    if (c.usage) usage = c.usage;
  }
  assert.equal(text, 'Hello! I am a fake Bedrock model and I am doing well.');
  assert.equal(finish, 'stop');
  assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [1, 12]);
  assert.equal(sent().path, `/model/${encodeURIComponent(NOVA)}/converse-stream`);
});

test('tools: a tool call whole and streamed, and its result sent back as a toolResult', async () => {
  const r = await openai().chat.completions.create({ model: 'nova', messages: [{ role: 'user', content: 'weather? [[tool-call]]' }], tools: TOOLS, tool_choice: 'required' });
  const call = r.choices[0]!.message.tool_calls![0]! as any;
  assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
  assert.equal(call.id, 'tooluse_Fake0123456789abcdef');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  assert.deepEqual(sent().body.toolConfig, {
    tools: [{ toolSpec: { name: 'get_weather', description: 'Weather of a city', inputSchema: { json: TOOLS[0]!.function.parameters } } }],
    toolChoice: { any: {} },
  });

  const stream = await openai().chat.completions.create({ model: 'nova', messages: [{ role: 'user', content: 'weather? [[tool-call]]' }], tools: TOOLS, stream: true });
  let args = '';
  let id = '';
  for await (const c of stream) {
    const t = c.choices[0]?.delta?.tool_calls?.[0];
    if (t?.id) id = t.id;
    args += t?.function?.arguments ?? '';
  }
  assert.equal(id, 'tooluse_Fake0123456789abcdef');
  assert.deepEqual(JSON.parse(args), { city: 'Paris' });

  await openai().chat.completions.create({
    model: 'nova',
    messages: [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: call.id, content: 'sunny' },
    ],
    tools: TOOLS,
  });
  assert.deepEqual(sent().body.messages.slice(1), [
    { role: 'assistant', content: [{ toolUse: { toolUseId: call.id, name: 'get_weather', input: { city: 'Paris' } } }] },
    { role: 'user', content: [{ toolResult: { toolUseId: call.id, content: [{ text: 'sunny' }] } }] },
  ]);
});

test('images go inline as bytes; an image by URL is refused naming the field (Bedrock fetches none, nor does the gateway)', async () => {
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg==';
  await openai().chat.completions.create({ model: 'nova', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }] });
  assert.deepEqual(sent().body.messages[0].content[1], { image: { format: 'png', source: { bytes: png } } });
  const before = aws.requests.length;
  await assert.rejects(
    openai().chat.completions.create({ model: 'nova', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }),
    (e: any) => e.status === 400 && /messages\.0\.content\.0.*inline only/.test(e.message) && e.error.param === 'messages.0.content.0.source',
  );
  assert.equal(aws.requests.length, before, 'nothing was sent');
});

test('Anthropic clients: thinking and tool use streamed as Anthropic events, the signature sent back byte for byte, cache_control as cache points', async () => {
  const stream = anthropic().messages.stream({
    model: 'sonnet',
    max_tokens: 2048,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
    tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    messages: [{ role: 'user', content: 'weather in Paris? [[tool-call]] [[cached:2]]' }],
  });
  const msg = await stream.finalMessage();
  const types = msg.content.map((b) => b.type);
  assert.deepEqual(types, ['thinking', 'text', 'tool_use']);
  const thinking = msg.content[0] as Anthropic.ThinkingBlock;
  assert.equal(thinking.signature, BEDROCK_SIGNATURE);
  assert.equal(msg.stop_reason, 'tool_use');
  assert.deepEqual((msg.content[2] as Anthropic.ToolUseBlock).input, { city: 'Paris' });
  assert.equal(msg.usage.cache_read_input_tokens, 2);
  const s = sent();
  assert.equal(s.path, `/model/${encodeURIComponent(SONNET)}/converse-stream`);
  assert.deepEqual(s.body.system, [{ text: 'You are terse.' }, { cachePoint: { type: 'default' } }]);
  assert.deepEqual(s.body.additionalModelRequestFields, { thinking: { type: 'enabled', budget_tokens: 1024 } });

  // The next turn: the thinking block goes back as reasoningContent with its signature untouched.
  await anthropic().messages.create({
    model: 'sonnet',
    max_tokens: 2048,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
    messages: [
      { role: 'user', content: 'weather in Paris?' },
      { role: 'assistant', content: msg.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: (msg.content[2] as Anthropic.ToolUseBlock).id, content: 'sunny', is_error: false }] },
    ],
  });
  const turn = sent().body.messages[1];
  assert.deepEqual(turn.content[0], { reasoningContent: { reasoningText: { text: thinking.thinking, signature: BEDROCK_SIGNATURE } } });
  assert.deepEqual(sent().body.messages[2].content[0], { toolResult: { toolUseId: 'tooluse_Fake0123456789abcdef', content: [{ text: 'sunny' }] } });
});

test('OpenAI clients of Claude on Bedrock get reasoning_content and thinking_blocks, and the blocks go back signed', async () => {
  const r: any = await openai().chat.completions.create({ model: 'sonnet', messages: [{ role: 'user', content: 'think [[reasoning]]' }], reasoning_effort: 'low' } as any);
  assert.equal(r.choices[0].message.reasoning_content, 'Let me think this through.');
  assert.deepEqual(r.choices[0].message.thinking_blocks, [{ type: 'thinking', thinking: 'Let me think this through.', signature: BEDROCK_SIGNATURE }]);
  assert.deepEqual(sent().body.additionalModelRequestFields.thinking, { type: 'enabled', budget_tokens: 1024 });
  await openai().chat.completions.create({
    model: 'sonnet',
    messages: [{ role: 'user', content: 'think' }, { role: 'assistant', content: 'ok', thinking_blocks: r.choices[0].message.thinking_blocks } as any, { role: 'user', content: 'more' }],
  });
  assert.deepEqual(sent().body.messages[1].content[0], { reasoningContent: { reasoningText: { text: 'Let me think this through.', signature: BEDROCK_SIGNATURE } } });
});

test('a guardrail intervention is a content-policy error, whole and streamed, with the prompt billed', async () => {
  const { response } = await openai().chat.completions.create({ model: 'guarded', messages: [{ role: 'user', content: 'bad [[guardrail]]' }] }).withResponse().catch((e) => ({ response: null, e }) as any);
  assert.equal(response, null);
  const r = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'guarded', messages: [{ role: 'user', content: 'bad [[guardrail]]' }] }) });
  const body: any = await r.json();
  assert.equal(r.status, 400);
  assert.match(body.error.message, /^litellm\.ContentPolicyViolationError: .*guardrail intervened/);
  assert.equal(body.error.provider_specific_fields.trace.guardrail.inputAssessment.gr1.topicPolicy.topics[0].action, 'BLOCKED');
  assert.deepEqual(sent().body.guardrailConfig, { guardrailIdentifier: 'gr1', guardrailVersion: '1', trace: 'enabled' });
  const rec = await record(r.headers.get('x-litellm-call-id'));
  assert.equal(rec.prompt_tokens, 2, 'the prompt the guardrail read is billed');

  const stream = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'guarded', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'bad [[guardrail]]' }] }) });
  const text = await stream.text();
  assert.match(text, /event: error\ndata: .*ContentPolicyViolationError/);
  assert.doesNotMatch(text, /message_stop/);
});

test("Bedrock's errors keep their status and LiteLLM's types: throttling retried as a 429, a prompt too long is a ContextWindowExceededError", async () => {
  const post = (content: string, model = 'nova') =>
    fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content }] }) });
  let r = await post('[[status:429]]');
  let body: any = await r.json();
  assert.equal(r.status, 429);
  assert.equal(body.error.type, 'rate_limit_error');
  assert.match(body.error.message, /ThrottlingException: Too many requests/);
  r = await post('[[too-long]]');
  body = await r.json();
  assert.equal(r.status, 400);
  assert.match(body.error.message, /^litellm\.ContextWindowExceededError: .*Input is too long/);
  assert.equal(body.error.code, 'context_length_exceeded');
  r = await post('[[status:403]]');
  body = await r.json();
  assert.equal(r.status, 403);
  assert.match(body.error.message, /AccessDeniedException/);
  r = await post('[[status:408]]');
  assert.equal(r.status, 408);
  assert.equal(((await r.json()) as any).error.type, 'timeout_error');

  // In a stream: the exception event ends it with an error event in the client's dialect.
  const stream = await openai().chat.completions.create({ model: 'nova', messages: [{ role: 'user', content: 'go [[stream-exception]]' }], stream: true });
  let text = '';
  await assert.rejects(async () => {
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  }, /ThrottlingException: Too many tokens/);
  assert.equal(text, 'Hello! I');
});

test('an application inference profile ARN is called by its encoded id (its : and / signed as AWS signs them), priced as its model; documents go inline', async () => {
  const pdf = Buffer.from('%PDF-1.4 fake').toString('base64');
  await anthropic().messages.create({
    model: 'profiled-arn',
    max_tokens: 100,
    messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf }, title: 'Q3 report (final).pdf' }, { type: 'text', text: 'summarize' }] }],
  });
  assert.equal(sent().path, `/model/${encodeURIComponent('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123')}/converse`);
  assert.deepEqual(sent().body.messages[0].content[0], { document: { format: 'pdf', name: 'Q3 report (final) pdf', source: { bytes: pdf } } });
});

test('a wrong secret fails the signature check upstream: the 403 comes back, not retried', async () => {
  const before = aws.requests.length;
  const r = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'wrong-secret', messages: [{ role: 'user', content: 'hi' }] }) });
  assert.equal(r.status, 403);
  assert.match(((await r.json()) as any).error.message, /InvalidSignatureException: The request signature we calculated does not match/);
  assert.equal(aws.requests.length, before + 1);
});

test('a Bedrock API key is sent as a bearer token, unsigned', async () => {
  await openai().chat.completions.create({ model: 'keyed', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(sent().headers.authorization, `Bearer ${API_KEY}`);
  assert.equal(sent().headers['x-amz-date'], undefined);
});

test('aws_role_name: STS AssumeRole once, signed by the given keys; calls signed with the temporary credentials', async () => {
  const before = aws.sts.length;
  for (let i = 0; i < 3; i++) await openai().chat.completions.create({ model: 'role', messages: [{ role: 'user', content: 'hi' }] });
  assert.deepEqual(aws.sts.slice(before), ['AssumeRole'], 'one exchange, kept until it nears expiry');
  assert.match(String(sent().headers.authorization), /Credential=ASIAFAKE/);
  assert.match(String(sent().headers['x-amz-security-token']), /^FwoGZXIvYXdzEFake/);
  // Temporary: they say when they expire, and are renewed before then (not kept forever as long-term keys are).
  const d = gw.app.ctx.config.deployments.find((x) => x.modelName === 'role')!;
  const expires = d.aws!.signing!.credentials.latest()!.expiration!.getTime();
  assert.ok(expires > Date.now() + 50 * 60_000 && expires <= Date.now() + 3600_000, String(new Date(expires)));
});

test("aws_profile_name and AWS's default chain (here the environment's keys): calls signed with those keys", async () => {
  for (const model of ['profile', 'ambient']) {
    await openai().chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
    assert.match(String(sent().headers.authorization), /Credential=AKIAFAKEBEDROCK00001\//, model);
  }
});

test('aws_web_identity_token: STS AssumeRoleWithWebIdentity, then signed calls', async () => {
  await openai().chat.completions.create({ model: 'web', messages: [{ role: 'user', content: 'hi' }] });
  assert.ok(aws.sts.includes('AssumeRoleWithWebIdentity'));
  assert.match(String(sent().headers.authorization), /Credential=ASIAFAKE/);
});

test('bedrock/invoke/: Claude through InvokeModel with Anthropic\'s body, streamed from chunk events to both SDKs', async () => {
  const m = await anthropic().messages.create({ model: 'invoke', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  assert.match((m.content[0] as Anthropic.TextBlock).text, /fake Claude/);
  let s = sent();
  assert.equal(s.path, `/model/${encodeURIComponent('anthropic.claude-3-5-haiku-20241022-v1:0')}/invoke`);
  assert.equal(s.body.anthropic_version, 'bedrock-2023-05-31');
  assert.equal(s.body.model, undefined);

  const stream = anthropic().messages.stream({ model: 'invoke', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi' }] });
  const msg = await stream.finalMessage();
  assert.equal((msg.content[0] as Anthropic.ThinkingBlock).signature, FAKE_SIGNATURE);
  assert.match((msg.content[1] as Anthropic.TextBlock).text, /fake Claude/);
  s = sent();
  assert.equal(s.path, `/model/${encodeURIComponent('anthropic.claude-3-5-haiku-20241022-v1:0')}/invoke-with-response-stream`);
  assert.equal(s.body.stream, undefined);

  const chat = await openai().chat.completions.create({ model: 'invoke', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage: any = null;
  for await (const c of chat) {
    text += c.choices[0]?.delta?.content ?? '';
    if (c.usage) usage = c.usage;
  }
  assert.match(text, /fake Claude/);
  assert.ok(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
});

test('a cut event stream ends the client\'s stream with an error event, and the output seen is billed', async () => {
  const r = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'nova', stream: true, messages: [{ role: 'user', content: 'go [[cut:4]]' }] }) });
  const text = await r.text();
  assert.match(text, /"content":"Hello!"/);
  assert.match(text, /data: \{"error":\{"message":"The bedrock stream (ended before|was cut)/);
  assert.doesNotMatch(text, /\[DONE\]/);
  const rec = await record(r.headers.get('x-litellm-call-id'));
  assert.ok(rec.completion_tokens > 0, 'the output seen is billed');
});

for (const stream of [false, true]) {
  test(`budgets hold over Bedrock: 100 parallel calls on a budget for 10, never over, spend exactly what was answered (${stream ? 'streamed' : 'plain'})`, async () => {
    // One answer: 2 prompt tokens + 15 output tokens (the fake counts words) at 1,000 and 2,000 nano-dollars a token.
    const answer = 2 * 1000 + 15 * 2000;
    const budget = 10 * answer;
    const key = (await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ max_budget: budget / 1e9 }) })).json() as any).key;
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const r = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'priced', max_tokens: 15, stream, messages: [{ role: 'user', content: '[[words:15]] hi' }] }) });
        return { status: r.status, text: await r.text() };
      }),
    );
    const ok = results.filter((r) => r.status === 200 && !r.text.includes('"error"'));
    assert.equal(ok.length + results.filter((r) => r.status === 429).length, 100);
    const logs = (await (await fetch(`${gw.url}/spend/logs?api_key=${key}&page_size=1000`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
    const spent = logs.data.reduce((s: number, l: any) => s + Math.round(l.spend * 1e9), 0);
    assert.ok(spent <= budget, `spent ${spent} > budget ${budget}`);
    assert.equal(spent, ok.length * answer);
    assert.ok(spent >= budget / 2, `only ${spent} of ${budget} used`);
    assert.deepEqual(gw.app.ctx.limiter.held(), { reservations: 0, slots: 0 });
  });
}

test('embeddings: Titan one text a request with its dimensions, Cohere a list with input_type; floats or base64, Bedrock\'s token count', async () => {
  const t = await openai().embeddings.create({ model: 'titan', input: 'hello embedding world', dimensions: 8, encoding_format: 'float' });
  assert.equal(t.data.length, 1);
  assert.equal((t.data[0]!.embedding as number[]).length, 8);
  assert.equal(t.usage.prompt_tokens, 3);
  assert.equal(sent().path, `/model/${encodeURIComponent('amazon.titan-embed-text-v2:0')}/invoke`);
  assert.deepEqual(sent().body, { inputText: 'hello embedding world', dimensions: 8 });
  await assert.rejects(openai().embeddings.create({ model: 'titan', input: ['a', 'b'] }), (e: any) => e.status === 400 && e.error.param === 'input' && /one text a request/.test(e.message));

  // The openai SDK asks for base64 by default and decodes it: the same floats come out.
  const { data: c, response } = await openai().embeddings.create({ model: 'cohere-embed', input: ['first text', 'the second text'], input_type: 'search_query' } as any).withResponse();
  assert.equal(c.data.length, 2);
  assert.deepEqual(c.data[1]!.embedding, [...new Float32Array([0.15, 0.16, 0.17, 0.18])], 'float32, as OpenAI sends base64');
  assert.equal(c.usage.prompt_tokens, 5, 'the count from x-amzn-bedrock-input-token-count');
  assert.deepEqual(sent().body, { texts: ['first text', 'the second text'], input_type: 'search_query', embedding_types: ['float'] });
  const rec = await record(response.headers.get('x-litellm-call-id'));
  assert.deepEqual([rec.prompt_tokens, rec.call_type], [5, 'aembedding']);
});

test('/health: a one-token Converse call per deployment, signed as calls are; a wrong secret is unhealthy', async () => {
  const r: any = await (await fetch(`${gw.url}/health`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json();
  assert.deepEqual(r.unhealthy_endpoints.map((e: any) => [e.model_name, e.error]), [['wrong-secret', 'status 403']]);
  assert.deepEqual(r.healthy_endpoints.map((e: any) => e.model_name).sort(), ['ambient', 'cached', 'cohere-embed', 'guarded', 'invoke', 'keyed', 'nova', 'priced', 'profile', 'profiled-arn', 'role', 'sonnet', 'titan', 'web', 'web-file']);
  const ping = aws.requests.filter((q) => q.body.inferenceConfig?.maxTokens === 1);
  assert.ok(ping.length >= 6);
});

test('config: invoke is for Claude only, keys come in pairs, and a region comes from the ARN', () => {
  const load = (params: string) => loadConfig(writeConfig(`model_list:\n  - model_name: m\n    litellm_params: { ${params} }\n`), {});
  assert.throws(() => load('model: bedrock/invoke/amazon.nova-pro-v1:0, api_key: k'), (e: any) => e instanceof ConfigError && /model: .*InvokeModel is supported for Anthropic's Claude models only.*bedrock\/converse\/amazon\.nova-pro-v1:0/.test(e.message));
  assert.throws(() => load('model: bedrock/amazon.nova-pro-v1:0, aws_access_key_id: AKIA1'), (e: any) => e instanceof ConfigError && /aws_secret_access_key: is required with aws_access_key_id/.test(e.message));
  const arn = 'arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123';
  const d = load(`model: bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0, model_id: "${arn}", api_key: k`).config.deployments[0]!;
  assert.equal(d.aws!.region, 'eu-west-1');
  assert.equal(d.apiBase, 'https://bedrock-runtime.eu-west-1.amazonaws.com');
  assert.equal(d.upstreamModel, 'anthropic.claude-sonnet-4-5-20250929-v1:0', 'the model names prices; the ARN is called');
  assert.equal(d.aws!.modelId, arn);
  const r = load('model: bedrock/us-west-2/converse/meta.llama3-1-70b-instruct-v1:0, api_key: k').config.deployments[0]!;
  assert.equal(r.aws!.region, 'us-west-2');
  assert.equal(r.upstreamModel, 'meta.llama3-1-70b-instruct-v1:0');
  assert.equal(r.wire, 'bedrock');
});

test('mends: one-hour cache writes billed at their price; the operator\'s guardrail kept and price tiers refused from a request; drop_params in the body; a token file', async () => {
  const { response } = await openai().chat.completions.create({ model: 'cached', messages: [{ role: 'user', content: 'a b c d [[cache-write-1h:4]]' }] }).withResponse();
  const rec = await record(response.headers.get('x-litellm-call-id'));
  // 5 prompt words: 1 uncached input, 4 written for an hour; 12 out.
  assert.equal(Math.round(rec.spend * 1e9), 1 * 1000 + 4 * 2000 + 12 * 2000);

  await openai().chat.completions.create({ model: 'guarded', messages: [{ role: 'user', content: 'hi' }], guardrailConfig: { guardrailIdentifier: 'other', guardrailVersion: '2' } } as any);
  assert.deepEqual(sent().body.guardrailConfig, { guardrailIdentifier: 'gr1', guardrailVersion: '1', trace: 'enabled' });
  await assert.rejects(openai().chat.completions.create({ model: 'nova', messages: [{ role: 'user', content: 'hi' }], serviceTier: { type: 'priority' } } as any), (e: any) => e.status === 400 && e.error.param === 'serviceTier');
  await openai().chat.completions.create({ model: 'nova', messages: [{ role: 'user', content: 'hi' }], seed: 3, drop_params: true } as any);
  assert.equal(sent().body.seed, undefined);

  await openai().chat.completions.create({ model: 'web-file', messages: [{ role: 'user', content: 'hi' }] });
  assert.match(String(sent().headers.authorization), /Credential=ASIAFAKE/);
  assert.ok(aws.sts.filter((a) => a === 'AssumeRoleWithWebIdentity').length >= 2, 'the inline token and the one read from its file');
});

test('mends: a tool result\'s inner cache_control is a cache point after it; tool calls in history without tools get a placeholder tool', async () => {
  await anthropic().messages.create({
    model: 'nova',
    max_tokens: 100,
    messages: [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'tu1', name: 'read', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu1', content: [{ type: 'text', text: 'data', cache_control: { type: 'ephemeral' } }] }, { type: 'text', text: 'summarize' }] },
    ],
  });
  const turn = sent().body.messages[2].content;
  assert.deepEqual(turn.slice(0, 2), [{ toolResult: { toolUseId: 'tu1', content: [{ text: 'data' }] } }, { cachePoint: { type: 'default' } }]);
  assert.equal(sent().body.toolConfig.tools[0].toolSpec.name, 'no_tools_available');
});

test('mends: a block started where one is open closes it first; events before a corrupt message still count', () => {
  const codec = new ConverseToAnthropicStream({ url: '', headers: {}, body: '', clientWantsUsage: false, model: 'm' });
  let out = codec.push(Buffer.concat([eventMessage('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'hi' } }), eventMessage('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: 't', name: 'n' } } })]));
  const events = out.split('\n\n').filter(Boolean).map((f) => JSON.parse(f.split('\ndata: ')[1]!).type);
  assert.deepEqual(events, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'content_block_start']);
  const good = eventMessage('contentBlockDelta', { contentBlockIndex: 1, delta: { text: ' there' } });
  const bad = Buffer.from(eventMessage('contentBlockStop', { contentBlockIndex: 1 }));
  bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 0xff, bad.length - 1);
  out = codec.push(Buffer.concat([good, bad]));
  assert.match(out, /"text":" there"/, 'the good event before the corrupt one');
  assert.match(out, /event: error\ndata: .*could not be read/);
  assert.ok(codec.upstreamError);
});
