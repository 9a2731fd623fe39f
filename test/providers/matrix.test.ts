// The translation matrix of the Google, Azure, AWS, Cohere and Mistral providers: {OpenAI chat,
// Anthropic messages} in × {gemini, vertex_ai Gemini, vertex_ai Claude, azure, bedrock Claude and Nova
// (Converse), bedrock/invoke Claude, cohere, mistral} out × {streamed, not} × {text, tools, image input, JSON schema, reasoning}, each call checked for its content, tool call, finish reason and
// usage in the client's own form, through the official SDKs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import { startFakeBedrock, type FakeBedrock } from '../fakes/bedrock-upstream.ts';
import { startFakeCohere } from '../fakes/cohere-upstream.ts';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-upstream.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

let google: FakeGemini;
let claude: FakeUpstream;
let azure: FakeUpstream;
let aws: FakeBedrock;
let cohere: FakeUpstream;
let mistral: FakeUpstream;
let gw: TestGateway;

before(async () => {
  claude = await startFakeAnthropic();
  google = await startFakeGemini({ apiKey: 'AIza-m', anthropic: claude });
  azure = await startFakeOpenAI({ azureKey: 'az-m' });
  cohere = await startFakeCohere({ apiKey: 'co-m' });
  mistral = await startFakeOpenAI({ apiKey: 'mi-m', mistral: true });
  aws = await startFakeBedrock({ keys: [{ accessKeyId: 'AKIAMATRIX0000000001', secretAccessKey: 'matrix-secret' }], anthropic: claude });
  const awsParams = `aws_access_key_id: AKIAMATRIX0000000001, aws_secret_access_key: matrix-secret, aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${aws.url}"`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sa = join(tempDir('matrix'), 'sa.json');
  writeFileSync(sa, JSON.stringify({ type: 'service_account', project_id: 'p', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: 'g@p.iam.gserviceaccount.com', token_uri: google.tokenUri }));
  gw = await startInProcess(`model_list:
  - model_name: gemini
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${google.url}", api_key: AIza-m }
  - model_name: vertex-gemini
    litellm_params: { model: vertex_ai/gemini-2.5-flash, vertex_credentials: "${sa}", api_base: "${google.url}" }
  - model_name: vertex-claude
    litellm_params: { model: vertex_ai/claude-sonnet-4-5@20250929, vertex_credentials: "${sa}", api_base: "${google.url}" }
  - model_name: azure
    litellm_params: { model: azure/gpt-4o, api_base: "${azure.url.replace(/\/v1$/, '')}", api_key: az-m }
  - model_name: bedrock-claude
    litellm_params: { model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0, ${awsParams} }
  - model_name: bedrock-nova
    litellm_params: { model: bedrock/converse/amazon.nova-pro-v1:0, ${awsParams} }
  - model_name: bedrock-invoke
    litellm_params: { model: bedrock/invoke/anthropic.claude-sonnet-4-5-20250929-v1:0, ${awsParams} }
  - model_name: cohere
    litellm_params: { model: cohere/command-a-03-2025, api_base: "${cohere.url}", api_key: co-m }
  - model_name: mistral
    litellm_params: { model: mistral/magistral-medium-2509, api_base: "${mistral.url}", api_key: mi-m }
    model_info: { supports_reasoning: true }
`);
});
after(async () => {
  await gw.close();
  await google.close();
  await claude.close();
  await azure.close();
  await aws.close();
  await cohere.close();
  await mistral.close();
});

type Feature = 'text' | 'tools' | 'image' | 'json' | 'reasoning';
interface Seen {
  text: string;
  tool: string | null;
  finish: string | null;
  reasoning: string;
  usage: [number, number];
}

/** The directive each fake answers the feature with (Claude's tool use is a recorded fixture). */
function prompt(model: string, feature: Feature): string {
  // (the Anthropic fake answers Claude on Vertex and Bedrock's InvokeModel)
  const claudeModel = model === 'vertex-claude' || model === 'bedrock-invoke';
  if (feature === 'tools') return claudeModel ? 'weather? [[fixture:tool-use]]' : 'weather? [[tool-call]]';
  if (feature === 'reasoning') return claudeModel || model === 'bedrock-claude' ? 'think' : 'think [[reasoning]]';
  if (feature === 'json') return model.includes('gemini') ? 'json [[json]]' : 'json';
  return 'hello there';
}

const WEATHER = { name: 'get_weather', description: 'Weather of a place', parameters: { type: 'object', properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] } };
const SCHEMA = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

async function viaOpenAI(model: string, feature: Feature, stream: boolean): Promise<Seen> {
  const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
  const text = prompt(model, feature);
  const content: any = feature === 'image' ? [{ type: 'text', text }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] : text;
  const body: any = { model, max_tokens: 2000, messages: [{ role: 'user', content }] };
  if (feature === 'tools') body.tools = [{ type: 'function', function: WEATHER }];
  if (feature === 'json') body.response_format = { type: 'json_schema', json_schema: { name: 'a', schema: SCHEMA } };
  if (feature === 'reasoning') body.reasoning_effort = 'low';
  if (!stream) {
    const r = await client.chat.completions.create(body);
    const m = r.choices[0]!.message as any;
    return { text: m.content ?? '', tool: m.tool_calls?.[0]?.function.name ?? null, finish: r.choices[0]!.finish_reason, reasoning: m.reasoning_content ?? '', usage: [r.usage!.prompt_tokens, r.usage!.completion_tokens] };
  }
  const s = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  const seen: Seen = { text: '', tool: null, finish: null, reasoning: '', usage: [0, 0] };
  for await (const c of s as any) {
    const d = c.choices[0]?.delta ?? {};
    seen.text += d.content ?? '';
    seen.reasoning += d.reasoning_content ?? '';
    seen.tool ??= d.tool_calls?.[0]?.function?.name ?? null;
    seen.finish = c.choices[0]?.finish_reason ?? seen.finish;
    if (c.usage) seen.usage = [c.usage.prompt_tokens, c.usage.completion_tokens];
  }
  return seen;
}

async function viaAnthropic(model: string, feature: Feature, stream: boolean): Promise<Seen> {
  const client = new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
  const text = prompt(model, feature);
  const content: any = feature === 'image' ? [{ type: 'text', text }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] : text;
  const body: any = { model, max_tokens: 3000, messages: [{ role: 'user', content }] };
  if (feature === 'tools') body.tools = [{ name: WEATHER.name, description: WEATHER.description, input_schema: WEATHER.parameters }];
  if (feature === 'json') body.output_config = { format: { type: 'json_schema', schema: SCHEMA } };
  // (Anthropic's thinking is Claude's: the Nova fake reasons on its directive alone)
  if (feature === 'reasoning' && model !== 'bedrock-nova') body.thinking = { type: 'enabled', budget_tokens: 1024 };
  const m: any = stream ? await client.messages.stream(body).finalMessage() : await client.messages.create(body);
  const blocks: any[] = m.content;
  return {
    text: blocks.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    tool: blocks.find((b) => b.type === 'tool_use')?.name ?? null,
    finish: m.stop_reason,
    reasoning: blocks.filter((b) => b.type === 'thinking').map((b) => b.thinking).join(''),
    usage: [m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0), m.usage.output_tokens],
  };
}

const MODELS = ['gemini', 'vertex-gemini', 'vertex-claude', 'azure', 'bedrock-claude', 'bedrock-nova', 'bedrock-invoke', 'cohere', 'mistral'];
const UPSTREAMS: Record<string, () => FakeUpstream> = { azure: () => azure, cohere: () => cohere, mistral: () => mistral };
const upstreamOf = (model: string) => UPSTREAMS[model]?.() ?? (model.startsWith('bedrock') ? aws : google);
const FEATURES: Feature[] = ['text', 'tools', 'image', 'json', 'reasoning'];

for (const dialect of ['openai', 'anthropic'] as const) {
  describe(`${dialect} clients`, () => {
    for (const model of MODELS) {
      for (const stream of [false, true]) {
        test(`${model}, ${stream ? 'streamed' : 'whole'}: ${FEATURES.join(', ')}`, async () => {
          for (const feature of FEATURES) {
            const at = `${dialect} → ${model} (${stream ? 'streamed' : 'whole'}), ${feature}`;
            const seen = dialect === 'openai' ? await viaOpenAI(model, feature, stream) : await viaAnthropic(model, feature, stream);
            const toolStop = dialect === 'openai' ? 'tool_calls' : 'tool_use';
            const stop = dialect === 'openai' ? 'stop' : 'end_turn';
            if (feature === 'tools') {
              assert.equal(seen.tool, 'get_weather', at);
              assert.equal(seen.finish, toolStop, at);
            } else {
              assert.ok(seen.text.length > 0, `${at}: no text`);
              assert.equal(seen.finish, stop, at);
            }
            if (feature === 'json' && model.includes('gemini')) assert.deepEqual(JSON.parse(seen.text), { answer: 'fake' }, at);
            if (feature === 'reasoning') assert.ok(seen.reasoning.length > 0, `${at}: no reasoning`);
            assert.ok(seen.usage[0] > 0 && seen.usage[1] > 0, `${at}: usage ${seen.usage}`);
            const sent = upstreamOf(model).requests.at(-1)!.body;
            if (feature === 'image') assert.ok(JSON.stringify(sent).includes(PNG), `${at}: the image reached the provider`);
            if (feature === 'json' && model.includes('gemini')) assert.deepEqual(sent.generationConfig.responseJsonSchema, SCHEMA, at);
            if (feature === 'json' && (model === 'bedrock-claude' || model === 'bedrock-nova')) assert.deepEqual(JSON.parse(sent.outputConfig.textFormat.structure.jsonSchema.schema), SCHEMA, at);
          }
        });
      }
    }
  });
}

test('a stream cut midway, from each provider: the client gets an error event, the record what was used', async () => {
  const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
  for (const model of MODELS) {
    const { data: stream, response } = await client.chat.completions.create({ model, stream: true, max_tokens: 100, messages: [{ role: 'user', content: 'go on [[cut:3]] [[gap:5]]' }] }).withResponse();
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    })().catch((e) => e);
    assert.ok(err, `${model}: the stream ends with an error`);
    assert.ok(text.length > 0, `${model}: what came before the cut was relayed`);
    const id = response.headers.get('x-litellm-call-id');
    let rec: any;
    for (let i = 0; i < 60 && !rec; i++) {
      const logs = (await (await fetch(`${gw.url}/spend/logs?page_size=200`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
      rec = logs.data.find((l: any) => l.request_id === id);
      if (!rec) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(rec, `${model}: recorded`);
    assert.equal(rec.status, 'error', model);
    assert.ok(rec.prompt_tokens > 0 && rec.completion_tokens > 0, `${model}: ${rec.prompt_tokens} in, ${rec.completion_tokens} out`);
  }
});
