// Claude Code itself (@anthropic-ai/claude-code, offline) as the client: `claude -p` with
// ANTHROPIC_BASE_URL at the gateway and a virtual key, answered by an Anthropic deployment (its
// request passed through), by an OpenAI-wire one, a Gemini one and a Bedrock Claude one (translated to
// Converse, signed), its spend recorded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import { startFakeBedrock, type FakeBedrock } from '../fakes/bedrock-upstream.ts';
import { startFakeGemini } from '../fakes/gemini-upstream.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { asMaster, REPO, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

const run = promisify(execFile);

/** The native binary of the platform package; the wrapper's bin is a placeholder until its postinstall runs. */
function claudeBinary(): string {
  const native = join(REPO, `node_modules/@anthropic-ai/claude-code-${process.platform}-${process.arch}/claude`);
  return existsSync(native) ? native : join(REPO, 'node_modules/.bin/claude');
}

let claude: FakeUpstream;
let gpt: FakeUpstream;
let gemini: FakeUpstream;
let bedrock: FakeBedrock;
let gw: TestGateway;

before(async () => {
  claude = await startFakeAnthropic({ apiKey: 'sk-ant-upstream', answer: 'hi from the fake Claude' });
  gpt = await startFakeOpenAI({ apiKey: 'sk-upstream', answer: 'hi from the fake GPT' });
  gemini = await startFakeGemini({ apiKey: 'AIza-upstream', answer: 'hi from the fake Gemini' });
  bedrock = await startFakeBedrock({ keys: [{ accessKeyId: 'AKIAFAKECLAUDECODE01', secretAccessKey: 'fake-secret-of-claude-code-test' }], answer: 'hi from the fake Bedrock' });
  gw = await startInProcess(`model_list:
  - model_name: claude-sonnet-4-5
    litellm_params: { model: anthropic/claude-sonnet-4-5-20250929, api_base: "${claude.url}", api_key: sk-ant-upstream, input_cost_per_token: 0.000003, output_cost_per_token: 0.000015 }
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${gpt.url}", api_key: sk-upstream, input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001 }
    model_info: { max_output_tokens: 16384 }
  - model_name: gemini-flash
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${gemini.url}", api_key: AIza-upstream }
  - model_name: bedrock-sonnet
    litellm_params: { model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0, aws_access_key_id: AKIAFAKECLAUDECODE01, aws_secret_access_key: fake-secret-of-claude-code-test, aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "${bedrock.url}" }
`);
});
after(async () => {
  await gw.close();
  await claude.close();
  await gpt.close();
  await gemini.close();
  await bedrock.close();
});

const api = (method: string, path: string, body?: unknown) => asMaster(gw.url, method, path, body);

async function claudeP(model: string, key: string): Promise<{ stdout: string; code: number }> {
  const home = tempDir('claude-home');
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    TERM: 'dumb',
    ANTHROPIC_BASE_URL: gw.url,
    ANTHROPIC_API_KEY: key,
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // A failure shows at once instead of after ten retries with backoff.
    CLAUDE_CODE_MAX_RETRIES: '0',
    API_TIMEOUT_MS: '60000',
  };
  try {
    const { stdout } = await run(claudeBinary(), ['-p', 'say hi', '--model', model], { cwd: home, env, timeout: 120_000 });
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; code?: number };
    return { stdout: e.stdout ?? '', code: e.code ?? 1 };
  }
}

describe('Claude Code through the gateway', { timeout: 300_000 }, () => {
  test('to an Anthropic deployment: its request passes through, the answer printed, the spend recorded', async () => {
    const key = (await api('POST', '/key/generate', { models: ['claude-sonnet-4-5'], max_budget: 5 })).key;
    const { stdout, code } = await claudeP('claude-sonnet-4-5', key);
    assert.equal(code, 0, stdout);
    assert.equal(stdout.trim(), 'hi from the fake Claude');
    const sent = claude.requests.filter((r) => r.path.startsWith('/v1/messages')).at(-1)!;
    assert.equal(sent.headers['x-api-key'], 'sk-ant-upstream', 'the deployment key, never the virtual key');
    assert.equal(sent.body.model, 'claude-sonnet-4-5-20250929');
    assert.ok(sent.body.tools.length >= 12, `${sent.body.tools.length} tools`);
    assert.ok(sent.body.max_tokens >= 32000);
    assert.ok(sent.body.thinking, 'thinking kept');
    assert.match(String(sent.headers['anthropic-beta']), /claude-code-20250219/);
    assert.ok(sent.raw.length > 20_000, `${sent.raw.length} bytes`);
    const logs = (await api('GET', `/spend/logs?api_key=${key}`)).data;
    assert.ok(logs.length >= 1);
    assert.ok(logs.every((l: any) => l.status === 'success' && l.call_type === 'anthropic_messages' && l.model_group === 'claude-sonnet-4-5'));
    assert.ok(logs[0].prompt_tokens > 1000 && logs[0].spend > 0);
  });

  test('to an OpenAI deployment: translated both ways, the answer printed, the spend recorded', async () => {
    const key = (await api('POST', '/key/generate', { models: ['gpt-4o'] })).key;
    const { stdout, code } = await claudeP('gpt-4o', key);
    assert.equal(code, 0, stdout);
    assert.equal(stdout.trim(), 'hi from the fake GPT');
    const sent = gpt.requests.at(-1)!.body;
    assert.equal(sent.model, 'gpt-4o');
    assert.ok(sent.tools.length >= 12 && sent.tools.every((t: any) => t.type === 'function' && t.function.parameters));
    assert.equal(sent.messages[0].role, 'system');
    assert.equal(sent.max_completion_tokens, 16384);
    assert.equal(sent.stream, true);
    const logs = (await api('GET', `/spend/logs?api_key=${key}`)).data;
    assert.ok(logs.length >= 1);
    assert.ok(logs.every((l: any) => l.status === 'success' && l.call_type === 'anthropic_messages' && l.model_group === 'gpt-4o' && !l.estimated));
    assert.ok(logs[0].spend > 0);
  });

  test('to a Gemini deployment: translated both ways, its tools as function declarations, the spend recorded', async () => {
    const key = (await api('POST', '/key/generate', { models: ['gemini-flash'] })).key;
    const { stdout, code } = await claudeP('gemini-flash', key);
    assert.equal(code, 0, stdout);
    assert.equal(stdout.trim(), 'hi from the fake Gemini');
    const sent = gemini.requests.filter((r) => r.path.includes(':streamGenerateContent')).at(-1)!;
    assert.ok(sent, 'streamed');
    const decl = sent.body.tools[0].functionDeclarations;
    assert.ok(decl.length >= 12, `${decl.length} function declarations`);
    assert.ok(sent.body.systemInstruction.parts[0].text.length > 100);
    const logs = (await api('GET', `/spend/logs?api_key=${key}`)).data;
    assert.ok(logs.length >= 1);
    assert.ok(logs.every((l: any) => l.status === 'success' && l.call_type === 'anthropic_messages' && l.model_group === 'gemini-flash' && !l.estimated));
  });

  test('to a Bedrock Claude deployment: Converse, signed, its tools as toolSpecs and thinking kept, the spend at Bedrock\'s price', async () => {
    const key = (await api('POST', '/key/generate', { models: ['bedrock-sonnet'], max_budget: 5 })).key;
    const { stdout, code } = await claudeP('bedrock-sonnet', key);
    assert.equal(code, 0, stdout);
    assert.equal(stdout.trim(), 'hi from the fake Bedrock');
    const sent = bedrock.requests.filter((r) => r.path.endsWith('/converse-stream')).at(-1)!;
    assert.ok(sent, 'streamed');
    assert.match(String(sent.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIAFAKECLAUDECODE01\//);
    assert.ok(sent.body.toolConfig.tools.filter((t: any) => t.toolSpec).length >= 12);
    assert.ok(sent.body.system.some((b: any) => b.cachePoint), "Claude Code's cache_control as cache points");
    assert.ok(sent.body.inferenceConfig.maxTokens >= 32000);
    const logs = (await api('GET', `/spend/logs?api_key=${key}`)).data;
    assert.ok(logs.length >= 1);
    assert.ok(logs.every((l: any) => l.status === 'success' && l.call_type === 'anthropic_messages' && l.model_group === 'bedrock-sonnet' && !l.estimated));
    assert.ok(logs[0].prompt_tokens > 1000 && logs[0].spend > 0);
  });
});
