// OpenAI's Codex CLI itself (@openai/codex, its native binary from npm, offline) as the client: `codex
// exec` with a custom model provider pointed at the gateway's /v1, answered by Claude (its Responses
// requests translated): the model calls Codex's exec_command tool, Codex runs the command and sends its
// output back as a function_call_output, and the model's answer ends the turn; each call recorded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import type { FakeUpstream } from '../fakes/openai-upstream.ts';
import { asMaster, REPO, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

/** Runs Codex with stdin closed (else exec waits to read more of the prompt from it). */
function run(bin: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeout: number }): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

/** The native binary of the platform package (the npm wrapper only finds and starts it). */
function codexBinary(): string | null {
  const triple = process.arch === 'arm64' ? 'aarch64-unknown-linux-musl' : 'x86_64-unknown-linux-musl';
  const bin = join(REPO, `node_modules/@openai/codex-${process.platform}-${process.arch}/vendor/${triple}/bin/codex`);
  return existsSync(bin) ? bin : null;
}

let claude: FakeUpstream;
let gw: TestGateway;

before(async () => {
  claude = await startFakeAnthropic({ apiKey: 'sk-ant', answer: 'The command printed codex-ok.' });
  // (Codex offers OpenAI's hosted web search too: drop_params leaves it out for Claude)
  gw = await startInProcess(`model_list:
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5-20250929, api_base: "${claude.url}", api_key: sk-ant, drop_params: true }
`);
});
after(async () => {
  await gw.close();
  await claude.close();
});

test('codex exec completes a turn with a tool call through /v1/responses to Claude', { timeout: 300_000 }, async (t) => {
  const bin = codexBinary();
  if (!bin) return t.skip(`no Codex binary for ${process.platform}-${process.arch}`);
  const key = (await asMaster(gw.url, 'POST', '/key/generate', { models: ['claude'] })).key;
  const home = tempDir('codex-home');
  const work = tempDir('codex-work');
  mkdirSync(home, { recursive: true });
  const prompt = 'Run the check. [[call:exec_command]] [[input:{"cmd":"echo codex-ok"}]]';
  const args = [
    'exec', '--skip-git-repo-check', '--ephemeral', '--dangerously-bypass-approvals-and-sandbox', '-C', work, '-m', 'claude',
    '-c', 'model_provider=gw', '-c', 'model_providers.gw.name=gw', '-c', `model_providers.gw.base_url="${gw.url}/v1"`,
    '-c', 'model_providers.gw.env_key=GW_KEY', '-c', 'model_providers.gw.wire_api=responses',
    '-c', 'model_providers.gw.stream_max_retries=0', '-c', 'model_providers.gw.request_max_retries=0',
    prompt,
  ];
  const env = { PATH: process.env.PATH, HOME: home, CODEX_HOME: home, GW_KEY: key, TERM: 'dumb', NO_COLOR: '1' };
  const { stdout, stderr, code } = await run(bin, args, { cwd: work, env, timeout: 180_000 });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /The command printed codex-ok\./);
  const calls = claude.requests.filter((r) => r.path === '/v1/messages');
  assert.equal(calls.length, 2, 'the tool call, then the answer');
  assert.ok(calls[0]!.body.tools.some((x: any) => x.name === 'exec_command'), "Codex's tools offered to Claude");
  assert.ok(!calls[0]!.body.tools.some((x: any) => x.name === 'web_search'), 'the hosted web search left out');
  const result = calls[1]!.body.messages.at(-1).content.find((b: any) => b.type === 'tool_result');
  assert.match(JSON.stringify(result.content), /codex-ok/, 'the command ran, and its output came back');
  const logs = (await asMaster(gw.url, 'GET', `/spend/logs?api_key=${key}`)).data;
  assert.equal(logs.length, 2);
  assert.ok(logs.every((l: any) => l.call_type === 'aresponses' && l.status === 'success' && l.stream === true));
});
