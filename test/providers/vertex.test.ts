// vertex_ai/ deployments: a service account key (a real RSA key, signed by Google's auth library) whose
// token_uri is a fake OAuth server; the token fetched once at start and sent as a bearer token, never
// fetched on a warm call; Gemini models at Vertex's project and location addresses, Claude models through
// rawPredict / streamRawPredict with Anthropic's body (no model, Vertex's anthropic_version), from OpenAI
// and Anthropic clients; Vertex's embeddings with their token counts; LiteLLM's setting names and errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-upstream.ts';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import type { FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, writeConfig, type TestGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';
import { loadConfig } from '../../src/config/load.ts';

let google: FakeGemini;
let claude: FakeUpstream;
let gw: TestGateway;
let keyFile: string;

function serviceAccount(tokenUri: string, project = 'acme-prod'): Record<string, string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    type: 'service_account',
    project_id: project,
    private_key_id: 'fake-key-id',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: `gateway@${project}.iam.gserviceaccount.com`,
    client_id: '1234567890',
    token_uri: tokenUri,
  };
}

before(async () => {
  claude = await startFakeAnthropic();
  google = await startFakeGemini({ anthropic: claude });
  keyFile = join(tempDir('vertex'), 'sa.json');
  writeFileSync(keyFile, JSON.stringify(serviceAccount(google.tokenUri)));
  gw = await startInProcess(`model_list:
  - model_name: vflash
    litellm_params: { model: vertex_ai/gemini-2.5-flash, vertex_location: europe-west4, vertex_credentials: "${keyFile}", api_base: "${google.url}" }
  - model_name: vclaude
    litellm_params: { model: vertex_ai/claude-sonnet-4-5@20250929, vertex_project: other-project, vertex_location: us-east5, vertex_credentials: "${keyFile}", api_base: "${google.url}" }
  - model_name: vembed
    litellm_params: { model: vertex_ai/text-embedding-005, vertex_credentials: "${keyFile}", api_base: "${google.url}" }
  - model_name: vgembed
    litellm_params: { model: vertex_ai/gemini-embedding-001, vertex_credentials: "${keyFile}", api_base: "${google.url}" }
  - model_name: vgcs
    litellm_params: { model: vertex_ai/gemini-2.5-flash, vertex_credentials: "${keyFile}", api_base: "${google.url}", allowed_gcs_buckets: [acme-docs] }
`);
  // The first token is fetched at start, not by the first call.
  for (let i = 0; i < 100 && google.tokenRequests === 0; i++) await new Promise((r) => setTimeout(r, 20));
});
after(async () => {
  await gw.close();
  await google.close();
  await claude.close();
});

const openai = () => new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
const anthropic = () => new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
const sent = () => google.requests.at(-1)!;

test('Gemini on Vertex: the project from the key file, the location, a bearer token fetched once at start', async () => {
  assert.equal(google.tokenRequests, 1, 'one token at start, for the three deployments that share the key');
  const r = await openai().chat.completions.create({ model: 'vflash', messages: [{ role: 'user', content: 'hi there' }] });
  assert.match(r.choices[0]!.message.content!, /fake Gemini/);
  assert.equal(sent().path, '/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent');
  assert.match(String(sent().headers.authorization), /^Bearer ya29\.fake-1$/);
  assert.equal(sent().headers['x-goog-api-key'], undefined);
  const stream = await openai().chat.completions.create({ model: 'vflash', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.match(text, /fake Gemini/);
  assert.equal(sent().path, '/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  assert.equal(google.tokenRequests, 1, 'warm calls never fetch a token');
});

test('Claude on Vertex from an OpenAI client: rawPredict, Anthropic body without the model, the answer translated', async () => {
  const r = await openai().chat.completions.create({ model: 'vclaude', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  assert.match(r.choices[0]!.message.content!, /fake Claude/);
  const s = google.requests.at(-1)!;
  assert.equal(s.path, '/v1/projects/other-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict');
  assert.equal(s.body.anthropic_version, 'vertex-2023-10-16');
  assert.equal(s.body.model, undefined);
  assert.equal(s.headers['x-api-key'], undefined);
  assert.match(String(s.headers.authorization), /^Bearer ya29\./);
});

test('Claude on Vertex from an Anthropic client, streamed: streamRawPredict, events relayed, usage metered', async () => {
  // Claude Code's first-party betas would make Vertex refuse the call: they are not passed there.
  const withBeta = new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0, defaultHeaders: { 'anthropic-beta': 'claude-code-20250219,prompt-caching-scope-2026-01-05' } });
  const stream = withBeta.messages.stream({ model: 'vclaude', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  const final = await stream.finalMessage();
  assert.equal(google.requests.at(-1)!.headers['anthropic-beta'], undefined);
  assert.match((final.content[0] as any).text, /fake Claude/);
  assert.ok(final.usage.output_tokens > 0);
  assert.match(google.requests.at(-1)!.path, /:streamRawPredict$/);
  assert.equal(google.requests.at(-1)!.body.stream, true);
  const whole = await anthropic().messages.create({ model: 'vclaude', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(whole.usage.output_tokens, final.usage.output_tokens);
});

test("Vertex embeddings: predict, with Vertex's own token counts", async () => {
  const r = await openai().embeddings.create({ model: 'vembed', input: ['one two three', 'four'], dimensions: 3, encoding_format: 'float' });
  assert.equal(sent().path, '/v1/projects/acme-prod/locations/us-central1/publishers/google/models/text-embedding-005:predict');
  assert.deepEqual(sent().body, { instances: [{ content: 'one two three' }, { content: 'four' }], parameters: { outputDimensionality: 3 } });
  assert.equal(r.data[0]!.embedding.length, 3);
  assert.equal(r.usage.prompt_tokens, 4);
  // Vertex's Gemini embedding models embed one text a request.
  const one = await openai().embeddings.create({ model: 'vgembed', input: 'one two', encoding_format: 'float' });
  assert.equal(one.usage.prompt_tokens, 2);
  const many: any = await openai().embeddings.create({ model: 'vgembed', input: ['a', 'b'] }).catch((e) => e);
  assert.equal(many.status, 400);
  assert.equal(many.error.param, 'input');
});

test('gs:// files from an allowed bucket go to Vertex as file references; other buckets are refused', async () => {
  await openai().chat.completions.create({ model: 'vgcs', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'gs://acme-docs/q3.pdf', format: 'application/pdf' } } as any] }] });
  assert.deepEqual(sent().body.contents[0].parts, [{ fileData: { mimeType: 'application/pdf', fileUri: 'gs://acme-docs/q3.pdf' } }]);
  const err: any = await openai().chat.completions.create({ model: 'vgcs', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'gs://other/x.pdf', format: 'application/pdf' } } as any] }] }).catch((e) => e);
  assert.equal(err.status, 400);
});

test('a token too close to its expiry is not sent: the call waits for a fresh one', async () => {
  const short = await startFakeGemini({ tokenLifetime: 1 });
  const file = join(tempDir('vertex'), 'sa-short.json');
  writeFileSync(file, JSON.stringify(serviceAccount(short.tokenUri, 'short-lived')));
  const g = await startInProcess(`model_list:
  - model_name: v
    litellm_params: { model: vertex_ai/gemini-2.5-flash, vertex_credentials: "${file}", api_base: "${short.url}" }
`);
  try {
    const c = new OpenAI({ apiKey: MASTER_KEY, baseURL: g.url, maxRetries: 0 });
    // Tokens of 1 s are never good enough (30 s of margin): each call gets a fresh one, and goes through.
    for (let i = 0; i < 3; i++) await c.chat.completions.create({ model: 'v', messages: [{ role: 'user', content: 'hi' }] });
    // (the first call may share the fetch started at start)
    assert.ok(short.tokenRequests >= 3, `a fresh token for each call (${short.tokenRequests} fetched)`);
    assert.equal(short.requests.at(-1)!.headers.authorization, `Bearer ya29.fake-${short.tokenRequests}`, 'the newest token sent');
  } finally {
    await g.close();
    await short.close();
  }
});

test('a token that cannot be had: the call fails with a clear 502, the process keeps serving', async () => {
  const file = join(tempDir('vertex'), 'sa-bad.json');
  writeFileSync(file, JSON.stringify(serviceAccount('http://127.0.0.1:9/token', 'nowhere')));
  const g = await startInProcess(`model_list:
  - model_name: v
    litellm_params: { model: vertex_ai/gemini-2.5-flash, vertex_credentials: "${file}", api_base: "${google.url}" }
`);
  try {
    const err: any = await new OpenAI({ apiKey: MASTER_KEY, baseURL: g.url, maxRetries: 0 }).chat.completions.create({ model: 'v', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.equal(err.status, 502);
    assert.match(err.message, /access token for vertex_ai/);
    assert.doesNotMatch(err.message, /PRIVATE KEY/);
  } finally {
    await g.close();
  }
});

test('settings: LiteLLM names, credentials as JSON text, and clear errors for a missing project or a bad file', () => {
  const json = JSON.stringify(serviceAccount(google.tokenUri, 'from-json'));
  const ok = loadConfig(writeConfig(`model_list:\n  - model_name: v\n    litellm_params: { model: vertex_ai/gemini-2.5-pro, vertex_credentials: '${json}', vertex_location: global }\n`), {});
  const d = ok.config.deployments[0]!;
  assert.deepEqual(d.google, { project: 'from-json', location: 'global', gcsBuckets: [] });
  assert.equal(d.apiBase, 'https://aiplatform.googleapis.com');
  assert.equal(JSON.stringify(d.publicParams).includes('PRIVATE'), false, 'credentials are not shown in /model/info');
  const fromEnv = loadConfig(writeConfig(`model_list:\n  - model_name: v\n    litellm_params: { model: vertex_ai/gemini-2.5-pro }\n`), { VERTEXAI_PROJECT: 'env-project', VERTEXAI_LOCATION: 'asia-northeast1' });
  assert.equal(fromEnv.config.deployments[0]!.apiBase, 'https://asia-northeast1-aiplatform.googleapis.com');
  assert.throws(() => loadConfig(writeConfig(`model_list:\n  - model_name: v\n    litellm_params: { model: vertex_ai/gemini-2.5-pro }\n`), {}), /model_list\[0\]\.litellm_params\.vertex_project: is required/);
  assert.throws(() => loadConfig(writeConfig(`model_list:\n  - model_name: v\n    litellm_params: { model: vertex_ai/gemini-2.5-pro, vertex_credentials: /nope/sa.json }\n`), {}), /vertex_credentials: file "\/nope\/sa.json" does not exist/);
  assert.throws(() => loadConfig(writeConfig(`model_list:\n  - model_name: v\n    litellm_params: { model: vertex_ai/meta/llama-3.1-405b, vertex_project: p }\n`), {}), /partner models other than Claude/);
  assert.throws(() => loadConfig(writeConfig(`model_list:\n  - model_name: v\n    litellm_params: { model: "vertex_ai/*", vertex_project: p }\n`), {}), /name the model/);
  // A key file mangled by an env file (quotes kept) is not echoed: it holds a private key.
  let said = '';
  try {
    loadConfig(writeConfig(`model_list:\n  - model_name: v\n    litellm_params: { model: vertex_ai/gemini-2.5-pro, vertex_project: p }\n`), { VERTEXAI_CREDENTIALS: `'${json}'` });
  } catch (err) {
    said = (err as Error).message;
  }
  assert.match(said, /vertex_credentials: the value \(not JSON, not a file path\) does not exist/);
  assert.equal(said.includes('PRIVATE KEY'), false);
});

test('/health checks Vertex deployments with their token', async () => {
  const r = (await (await fetch(`${gw.url}/health`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
  assert.equal(r.unhealthy_count, 0, JSON.stringify(r.unhealthy_endpoints));
  const counted = google.requests.filter((r) => r.path.endsWith(':countTokens')).map((r) => r.path.split('/models/')[1]);
  assert.deepEqual(counted.sort(), ['gemini-2.5-flash:countTokens', 'gemini-2.5-flash:countTokens'], 'a free token count of each Gemini chat model; embedding models and Claude: the token');
});
