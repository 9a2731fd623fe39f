// Secrets never leave the gateway: an e2e run (calls that succeed and fail, streamed and not, bad and
// blocked keys, the management, health, metrics and dashboard routes) is grepped, every answer's
// headers and body and the process's whole log at debug level, for the upstream API keys, the
// credentials in an api_base, the virtual keys and the master key it used.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { spawnGateway, type GatewayProcess } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

const MASTER = 'sk-master-Secret-0f9e8d7c6b5a';
const OPENAI_KEY = 'sk-upstream-Secret-openai-4a3b2c1d';
const ANTHROPIC_KEY = 'sk-ant-Secret-anthropic-9z8y7x';
const BASE_PASSWORD = 'Secret-base-password-55aa';
const WRONG_UPSTREAM_KEY = 'sk-upstream-Secret-wrong-77ee';

let openai: FakeUpstream;
let anthropic: FakeUpstream;
let gw: GatewayProcess;
/** Everything the gateway answered: status line, headers and body of each call. */
const seen: string[] = [];
/** What each call sent (path and body), beside its answer. */
const sent: string[] = [];
const virtualKeys: string[] = [];

before(async () => {
  openai = await startFakeOpenAI({ apiKey: OPENAI_KEY });
  anthropic = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
  const dir = tempDir('secrets');
  const withPassword = openai.url.replace('http://', `http://user:${BASE_PASSWORD}@`);
  writeFileSync(
    join(dir, 'config.yaml'),
    `model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: "${openai.url}", api_key: ${OPENAI_KEY}, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.url}", api_key: ${ANTHROPIC_KEY} }
  - model_name: with-password
    litellm_params: { model: openai/gpt-4, api_base: "${withPassword}", api_key: ${OPENAI_KEY} }
  - model_name: wrong-key
    litellm_params: { model: openai/gpt-4, api_base: "${openai.url}", api_key: ${WRONG_UPSTREAM_KEY} }
`,
  );
  gw = await spawnGateway({ cwd: dir, args: ['--config', 'config.yaml', '--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: MASTER, LOG_LEVEL: 'debug', DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` } });
});
after(async () => {
  await gw?.stop();
  await openai.close();
  await anthropic.close();
});

async function call(method: string, path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  sent.push(`${path} ${body === undefined ? '' : JSON.stringify(body)}`);
  seen.push(`${method} ${path} ${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}`);
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // a stream, or metrics
  }
  return { status: res.status, json };
}

test('no upstream key, api_base credential, virtual key or master key appears in any answer or log line', async () => {
  const made = await call('POST', '/key/generate', MASTER, { models: ['gpt-4', 'claude', 'with-password', 'wrong-key'], max_budget: 5, key_alias: 'secrets-test' });
  assert.equal(made.status, 200);
  const key = made.json.key as string;
  virtualKeys.push(key);
  const blocked = (await call('POST', '/key/generate', MASTER, {})).json.key as string;
  virtualKeys.push(blocked);
  await call('POST', '/key/block', MASTER, { key: blocked });
  const chat = (model: string, k: string, extra: Record<string, unknown> = {}) => call('POST', '/v1/chat/completions', k, { model, messages: [{ role: 'user', content: 'hi' }], ...extra });
  assert.equal((await chat('gpt-4', key)).status, 200);
  assert.equal((await chat('gpt-4', key, { stream: true })).status, 200);
  assert.equal((await chat('claude', key)).status, 200);
  assert.equal((await call('POST', '/v1/messages', key, { model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })).status, 200);
  assert.equal((await chat('with-password', key)).status, 200);
  assert.equal((await chat('wrong-key', key)).status, 401, 'the provider refused the deployment\'s key');
  assert.equal((await chat('gpt-4', key, { api_key: 'sk-client-tries-its-own', api_base: 'http://127.0.0.1:9' })).status, 200);
  assert.equal((await chat('gpt-4', blocked)).status, 401);
  assert.equal((await chat('gpt-4', `${key}x`)).status, 401);
  assert.equal((await chat('gpt-4', MASTER.slice(0, -1))).status, 401);
  for (const path of ['/model/info', '/v1/models', '/health', '/health/readiness', '/metrics', '/spend/logs', '/global/spend', '/key/list', '/ui/api/models', '/ui/api/health', '/ui/api/keys']) {
    const r = await call('GET', path, MASTER);
    assert.ok(r.status < 500, `${path}: ${r.status}`);
  }
  await call('GET', `/key/info?key=${encodeURIComponent(key)}`, MASTER);
  await call('GET', '/key/info', key);
  await call('POST', '/key/update', MASTER, { key, metadata: { note: 'updated' } });
  await call('POST', '/key/regenerate', MASTER, { key }).then((r) => r.json?.key && virtualKeys.push(r.json.key));
  // (the access log is written in batches: all of it is out once the process has ended)
  await gw.stop();

  const secrets = { OPENAI_KEY, ANTHROPIC_KEY, BASE_PASSWORD, WRONG_UPSTREAM_KEY, MASTER };
  const answers = seen.join('\n\n');
  const log = gw.output();
  assert.ok((log.match(/"msg":"call"/g) ?? []).length >= 7, 'the access log has the calls to grep');
  for (const [name, secret] of Object.entries(secrets)) {
    assert.ok(!answers.includes(secret), `${name} in an answer: ${seen.filter((a) => a.includes(secret)).map((a) => a.split('\n')[0]).join(', ')}`);
    assert.ok(!log.includes(secret), `${name} in the log`);
  }
  // A virtual key is in the answer that made it (/key/generate, /key/regenerate) and in answers to
  // calls that named it themselves (/key/info?key=, /key/update echo it, as LiteLLM's do): nowhere else.
  for (const k of virtualKeys) {
    const shown = seen.map((answer, i) => ({ answer, i })).filter(({ answer, i }) => answer.includes(k) && !sent[i]!.includes(k)).map(({ answer }) => answer.split('\n')[0]!);
    assert.ok(shown.every((line) => /^POST \/key\/(generate|regenerate) 200$/.test(line)), `${k.slice(0, 6)}... shown in ${shown.join(', ')}`);
    assert.ok(!log.includes(k), `a virtual key in the log`);
  }
});
