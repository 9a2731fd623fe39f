// The official Python SDKs (openai, anthropic from PyPI, in a virtualenv made on first run) as clients
// of the gateway: the same calls LiteLLM users make from Python, across both dialects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import { startFakeGemini } from '../fakes/gemini-upstream.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, REPO, startInProcess, type TestGateway } from '../helpers/gateway.ts';

const run = promisify(execFile);
const VENV = join(REPO, 'test-results/python-venv');
/** Pinned, so that a new SDK release changes nothing here unnoticed. */
const PACKAGES = ['openai==3.57.0', 'anthropic==2.14.0'];

async function python(): Promise<string | null> {
  const bin = join(VENV, 'bin/python');
  if (existsSync(bin)) return bin;
  try {
    await run('python3', ['-m', 'venv', VENV]);
    await run(join(VENV, 'bin/pip'), ['install', '--quiet', '--disable-pip-version-check', ...PACKAGES], { timeout: 240_000 });
    return bin;
  } catch (err) {
    return process.env.CI ? Promise.reject(err) : null;
  }
}

let claude: FakeUpstream;
let gpt: FakeUpstream;
let gemini: FakeUpstream;
let azure: FakeUpstream;
let gw: TestGateway;

before(async () => {
  claude = await startFakeAnthropic();
  gpt = await startFakeOpenAI();
  gemini = await startFakeGemini({ apiKey: 'AIza-py' });
  azure = await startFakeOpenAI({ azureKey: 'azure-py' });
  gw = await startInProcess(`model_list:
  - model_name: gemini
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${gemini.url}", api_key: AIza-py }
  - model_name: gemini-embed
    litellm_params: { model: gemini/gemini-embedding-001, api_base: "${gemini.url}", api_key: AIza-py }
  - model_name: azure-gpt
    litellm_params: { model: azure/my-gpt-4o, api_base: "${azure.url.replace(/\/v1$/, '')}", api_key: azure-py }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5-20250929, api_base: "${claude.url}" }
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${gpt.url}" }
`);
});
after(async () => {
  await gw.close();
  await claude.close();
  await gpt.close();
  await gemini.close();
  await azure.close();
});

test('the openai and anthropic Python SDKs, across both dialects', { timeout: 300_000 }, async (t) => {
  const py = await python();
  if (!py) return t.skip('python3 with venv and PyPI are not available here');
  const key = ((await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: '{}' })).json()) as { key: string }).key;
  const { stdout } = await run(py, [join(REPO, 'test/e2e/python/clients.py'), gw.url, key], { timeout: 60_000 });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
  assert.match(out.openai_text, /^Hello! I am a fake model/);
  assert.deepEqual(out.openai_usage, [2, 15]);
  assert.deepEqual(out.openai_to_claude_stream, ['Hello! I am a fake Claude and I am doing well, thank you for asking.', [2, 15]]);
  assert.equal(out.openai_bad_request_param, 'n');
  assert.match(out.anthropic_text, /^Hello! I am a fake Claude/);
  assert.deepEqual(out.anthropic_usage, [2, 15]);
  assert.deepEqual(out.anthropic_to_gpt_stream, ['Hello! I am a fake model and I am doing well, thank you for asking.', 'end_turn', 15]);
  assert.equal(out.count_tokens, 3);
  assert.equal(out.anthropic_auth_error, 'authentication_error');
  assert.deepEqual(out.openai_to_gemini_stream, ['Hello! I am a fake Gemini model and I am doing well.', [2, 12]]);
  assert.deepEqual(out.openai_to_gemini_tool, ['tool_calls', 'read_file']);
  assert.deepEqual(out.openai_to_gemini_embeddings, [2, 4]);
  assert.equal(out.openai_to_gemini_blocked, true);
  assert.deepEqual(out.openai_to_azure, ['Hello! I am a fake model and I am doing well, thank you for asking.', 2]);
  assert.deepEqual(out.anthropic_to_gemini, ['Hello! I am a fake Gemini model and I am doing well.', 'end_turn', 12]);
  assert.deepEqual(out.responses_openai, ['Hello! I am a fake model and I am doing well, thank you for asking.', 2]);
  assert.deepEqual(out.responses_claude, ['Hello! I am a fake Claude and I am doing well, thank you for asking.', 'completed', 15]);
  assert.deepEqual(out.responses_claude_stream, ['Hello! I am a fake Claude and I am doing well, thank you for asking.', 'response.created', 'response.completed']);
  assert.deepEqual(out.responses_claude_tool, ['message', 'function_call', 'function_call']);
});
