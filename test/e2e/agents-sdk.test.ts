// The OpenAI Agents SDK for Python (openai-agents from PyPI, in a virtualenv made on first run) as the
// client: an agent with a function tool, on its default Responses API model class, through the gateway
// to Claude (translated), plainly and streamed: the model calls the tool, the SDK runs it and sends its
// output back, and the model's answer ends the run; each model call recorded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import type { FakeUpstream } from '../fakes/openai-upstream.ts';
import { asMaster, REPO, startInProcess, type TestGateway } from '../helpers/gateway.ts';

const run = promisify(execFile);
const VENV = join(REPO, 'test-results/agents-venv');
/** Pinned, so that a new release changes nothing here unnoticed. */
const PACKAGES = ['openai-agents==0.24.0'];

async function python(): Promise<string | null> {
  const bin = join(VENV, 'bin/python');
  if (existsSync(join(VENV, '.installed'))) return bin;
  try {
    await run('python3', ['-m', 'venv', VENV]);
    await run(join(VENV, 'bin/pip'), ['install', '--quiet', '--disable-pip-version-check', ...PACKAGES], { timeout: 300_000 });
    await run('touch', [join(VENV, '.installed')]);
    return bin;
  } catch (err) {
    return process.env.CI ? Promise.reject(err) : null;
  }
}

let claude: FakeUpstream;
let gw: TestGateway;

before(async () => {
  claude = await startFakeAnthropic({ apiKey: 'sk-ant' });
  gw = await startInProcess(`model_list:
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5-20250929, api_base: "${claude.url}", api_key: sk-ant }
`);
});
after(async () => {
  await gw.close();
  await claude.close();
});

test('an Agents SDK agent with a function tool runs to its answer through /v1/responses, plainly and streamed', { timeout: 400_000 }, async (t) => {
  const py = await python();
  if (!py) return t.skip('python3 with pip is not available');
  const key = (await asMaster(gw.url, 'POST', '/key/generate', { models: ['claude'] })).key;
  const { stdout } = await run(py, [join(REPO, 'test/e2e/python/agent.py'), `${gw.url}/v1`, key, 'claude'], { timeout: 120_000 });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
  assert.deepEqual(out.calls, ['San Francisco, CA', 'Tokyo, Japan'], 'the SDK ran the tool for both calls');
  assert.equal(out.final, 'Hello! I am a fake Claude and I am doing well, thank you for asking.');
  assert.deepEqual(out.streamed_calls, ['San Francisco, CA', 'Tokyo, Japan']);
  assert.equal(out.streamed_final, out.final);
  assert.ok(out.event_kinds.includes('raw_response_event') && out.event_kinds.includes('run_item_stream_event'), out.event_kinds.join(', '));
  // The tool outputs reached Claude as tool results, each answering its call.
  const turn = claude.requests.filter((r) => r.path === '/v1/messages').at(-1)!.body.messages.at(-1);
  assert.deepEqual(turn.content.map((b: any) => [b.type, b.content]), [['tool_result', 'sunny in San Francisco, CA'], ['tool_result', 'sunny in Tokyo, Japan']]);
  const logs = (await asMaster(gw.url, 'GET', `/spend/logs?api_key=${key}`)).data;
  assert.equal(logs.length, 4, 'two model calls a run');
  assert.ok(logs.every((l: any) => l.call_type === 'aresponses' && l.status === 'success' && l.prompt_tokens > 0));
});
