import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { REPO, writeConfig } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

const load = (yaml: string, env: NodeJS.ProcessEnv = {}) => loadConfig(writeConfig(yaml), env);

test('LiteLLM fields are read, os.environ/ references substituted anywhere', () => {
  const { config, warnings } = load(
    `model_list:
  - model_name: gpt-4
    litellm_params:
      model: openai/gpt-4
      api_key: os.environ/MY_KEY
      api_base: os.environ/MY_BASE
      timeout: 30
      stream_timeout: 5
      rpm: 100
      tpm: os.environ/MY_TPM
      input_cost_per_token: 0.00001
    model_info:
      base_model: gpt-4-0613
      output_cost_per_token: 0.00003
general_settings:
  master_key: os.environ/MASTER
  max_request_size_mb: 2
litellm_settings:
  drop_params: true
  request_timeout: 120
`,
    { MY_KEY: 'sk-up', MY_BASE: 'http://10.0.0.1:8000/v1/', MY_TPM: '5000', MASTER: 'sk-master' },
  );
  assert.deepEqual(warnings, []);
  const d = config.deployments[0]!;
  assert.equal(d.apiKey, 'sk-up');
  assert.equal(d.apiBase, 'http://10.0.0.1:8000/v1');
  assert.equal(d.timeoutMs, 30_000);
  assert.equal(d.streamTimeoutMs, 5_000);
  assert.equal(d.tpm, 5000);
  assert.equal(d.rpm, 100);
  assert.deepEqual(d.prices, { input_cost_per_token: 0.00001, output_cost_per_token: 0.00003 });
  assert.equal(d.baseModel, 'gpt-4-0613');
  assert.ok(!('api_key' in d.publicParams));
  assert.equal(config.masterKey, 'sk-master');
  assert.equal(config.maxRequestSizeBytes, 2 * 1024 * 1024);
  assert.equal(config.dropParams, true);
});

test('defaults: OpenAI base and key from the environment, 600 s timeout, 32 MB bodies', () => {
  const { config } = load('model_list:\n  - model_name: m\n    litellm_params:\n      model: gpt-4o\n', { OPENAI_API_KEY: 'sk-env', OPENAI_API_BASE: 'http://local:1/v1' });
  const d = config.deployments[0]!;
  assert.equal(d.provider, 'openai');
  assert.equal(d.upstreamModel, 'gpt-4o');
  assert.equal(d.apiKey, 'sk-env');
  assert.equal(d.apiBase, 'http://local:1/v1');
  assert.equal(d.timeoutMs, 600_000);
  assert.equal(config.maxRequestSizeBytes, 32 * 1024 * 1024);
});

test('environment_variables are set before references are resolved', () => {
  const env: NodeJS.ProcessEnv = {};
  const { config } = load('environment_variables:\n  UP_KEY: sk-from-config\nmodel_list:\n  - model_name: m\n    litellm_params:\n      model: openai/x\n      api_key: os.environ/UP_KEY\n', env);
  assert.equal(config.deployments[0]!.apiKey, 'sk-from-config');
  assert.equal(env.UP_KEY, 'sk-from-config');
});

test('unknown keys are warnings, with their path; missing provider keys too', () => {
  const { config, warnings } = load(
    `model_list:
  - model_name: m
    litellm_params: { model: openai/x }
    extra_thing: 1
general_settings:
  proxy_batch_write_at: 10
litellm_settings:
  success_callback: [langfuse]
`,
  );
  assert.equal(config.deployments.length, 1);
  assert.ok(warnings.some((w) => w.includes('model_list[0].extra_thing is not a known setting')));
  assert.ok(warnings.some((w) => w.includes('general_settings.proxy_batch_write_at is a LiteLLM setting this gateway has no use for, ignored (spend is journaled')));
  assert.ok(warnings.some((w) => w.includes('litellm_settings.success_callback changes what LiteLLM\'s proxy does, and this version does not do it: IGNORED')));
  assert.ok(warnings.some((w) => w.includes('has no api_key and OPENAI_API_KEY is not set')));
  assert.deepEqual(config.ignoredSettings, ['model_list[0].extra_thing', 'general_settings.proxy_batch_write_at', 'litellm_settings.success_callback']);
});

test("the shipped config.yaml's master_key reference warns nothing when LITELLM_MASTER_KEY is unset (the start makes one)", () => {
  const { warnings } = loadConfig(join(REPO, 'config.yaml'), { OPENAI_API_KEY: 'sk-x' });
  assert.deepEqual(warnings, []);
});

test('/health/readiness lists the settings this version does not act on, so an operator is never surprised', async () => {
  const { startInProcess } = await import('../helpers/gateway.ts');
  const gw = await startInProcess('model_list: []\nlitellm_settings:\n  cache: true\n  success_callback: [langfuse]\ngeneral_settings:\n  store_model_in_db: true\n');
  try {
    const r = (await (await fetch(`${gw.url}/health/readiness`)).json()) as any;
    assert.equal(r.status, 'healthy');
    assert.deepEqual(r.ignored_settings.sort(), ['general_settings.store_model_in_db', 'litellm_settings.success_callback']);
  } finally {
    await gw.close();
  }
});

test('providers this version does not have yet are skipped with a warning', () => {
  const { config, warnings } = load('model_list:\n  - model_name: b\n    litellm_params: { model: sagemaker/my-endpoint }\n');
  assert.equal(config.deployments.length, 0);
  assert.match(warnings[0]!, /provider "sagemaker" is not supported by this version yet/);
});

test('gemini deployments speak Gemini\'s format, with Google AI Studio as the default base and GEMINI_API_KEY', () => {
  const { config } = load('model_list:\n  - model_name: g\n    litellm_params: { model: gemini/gemini-2.5-pro }\n', { GEMINI_API_KEY: 'AIza-x' });
  const d = config.deployments[0]!;
  assert.equal(d.wire, 'gemini');
  assert.equal(d.apiBase, 'https://generativelanguage.googleapis.com');
  assert.equal(d.apiKey, 'AIza-x');
  assert.equal(d.google, null);
});

test('azure deployments: Entra client credentials give a token source; with no credential at all, a warning naming them', () => {
  const { config, warnings } = load('model_list:\n  - model_name: a\n    litellm_params: { model: azure/d, api_base: "https://x.openai.azure.com", tenant_id: t, client_id: c }\n', { AZURE_CLIENT_SECRET: 's' });
  assert.ok(config.deployments[0]!.tokens, 'client credentials, the secret from AZURE_CLIENT_SECRET');
  assert.equal(warnings.length, 0);
  const none = load('model_list:\n  - model_name: a\n    litellm_params: { model: azure/d, api_base: "https://x.openai.azure.com" }\n', {});
  assert.equal(none.config.deployments[0]!.tokens, null);
  assert.match(none.warnings.join('\n'), /Entra ID client credentials \(tenant_id, client_id, client_secret\)/);
});

test('an unknown provider prefix is an error naming the deployment, unless custom_llm_provider says which (LiteLLM\'s way)', () => {
  assert.throws(
    () => load('model_list:\n  - model_name: nim\n    litellm_params: { model: nvidia_nim/meta/llama3-70b }\n', { OPENAI_API_KEY: 'sk-x' }),
    /litellm_params\.model: provider "nvidia_nim" of "nvidia_nim\/meta\/llama3-70b" \(model "nim"\) is not one this version knows; for an OpenAI-compatible server, give api_base and custom_llm_provider: openai/,
  );
  const { config } = load('model_list:\n  - model_name: llama\n    litellm_params: { model: meta-llama/Llama-3.3-70B, api_base: "http://gpu:8000/v1", custom_llm_provider: openai }\n', {});
  const d = config.deployments[0]!;
  assert.deepEqual([d.provider, d.upstreamModel, d.apiBase], ['openai', 'meta-llama/Llama-3.3-70B', 'http://gpu:8000/v1']);
  assert.throws(() => load('model_list:\n  - model_name: x\n    litellm_params: { model: a/b, custom_llm_provider: nope }\n', {}), /custom_llm_provider: "nope" is not a provider this version knows/);
});

test('anthropic deployments speak the Anthropic wire format, with its default base and key variable', () => {
  const { config } = load('model_list:\n  - model_name: claude\n    litellm_params: { model: anthropic/claude-sonnet-4-5 }\n', { ANTHROPIC_API_KEY: 'sk-ant-x' });
  const d = config.deployments[0]!;
  assert.equal(d.wire, 'anthropic');
  assert.equal(d.apiBase, 'https://api.anthropic.com');
  assert.equal(d.apiKey, 'sk-ant-x');
  assert.equal(d.upstreamModel, 'claude-sonnet-4-5');
});

const bad: [string, string, RegExp][] = [
  ['a model without litellm_params.model', 'model_list:\n  - model_name: a\n    litellm_params: {}\n', /model_list\[0\]\.litellm_params\.model: is required/],
  ['the third entry wrong', 'model_list:\n  - model_name: a\n    litellm_params: { model: openai/a }\n  - model_name: b\n    litellm_params: { model: openai/b }\n  - model_name: c\n    litellm_params: { model: 5 }\n', /model_list\[2\]\.litellm_params\.model/],
  ['a bad api_base', 'model_list:\n  - model_name: a\n    litellm_params: { model: openai/a, api_base: "ftp://x" }\n', /model_list\[0\]\.litellm_params\.api_base: must be an http\(s\) URL/],
  ['a negative rpm', 'model_list:\n  - model_name: a\n    litellm_params: { model: openai/a, rpm: -1 }\n', /litellm_params\.rpm: must be 0 or more/],
  ['an unknown provider', 'model_list:\n  - model_name: a\n    litellm_params: { model: openai_like/a }\n', /api_base: is required for provider "openai_like"/],
  ['invalid YAML', 'model_list: [\n', /is not valid YAML/],
  ['a list at the top', '- a\n- b\n', /must be a mapping/],
  ['a mistyped setting', 'litellm_settings:\n  drop_params: maybe\n', /litellm_settings\.drop_params/],
];
for (const [name, yaml, message] of bad) {
  test(`a bad config is one clear message naming file and path: ${name}`, () => {
    assert.throws(() => load(yaml), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /config\.yaml: /);
      assert.match(e.message, message);
      return true;
    });
  });
}

test('the gateway refuses to start on a bad config, with one line on stderr', async () => {
  const dir = tempDir('badcfg');
  writeFileSync(join(dir, 'config.yaml'), 'model_list:\n  - model_name: a\n    litellm_params: {}\n');
  const { code, out } = await runGateway(dir, []);
  assert.equal(code, 1);
  assert.equal(out.trim().split('\n').length, 1);
  assert.match(out, /config\.yaml: model_list\[0\]\.litellm_params\.model: is required/);
});

test('an unreachable database stops the start with one clear line, without its password', async () => {
  const dir = tempDir('pg');
  const { code, out } = await runGateway(dir, [], { DATABASE_URL: 'postgresql://u:secret@127.0.0.1:1/x', LITELLM_MASTER_KEY: 'sk-m-123456' });
  assert.equal(code, 1);
  assert.match(out, /cannot open the database postgresql:\/\/\*\*\*@127\.0\.0\.1:1\/x/);
  assert.ok(!out.includes('secret'));
});

test('a DATABASE_URL that is no database URL is refused', async () => {
  const dir = tempDir('badurl');
  const { code, out } = await runGateway(dir, [], { DATABASE_URL: 'mysql://u:pw@h/x', LITELLM_MASTER_KEY: 'sk-m-123456' });
  assert.equal(code, 1);
  assert.match(out, /is not understood; use postgresql:\/\/\.\.\., sqlite:PATH or sqlite::memory:/);
  assert.ok(!out.includes(':pw@'));
});

test('a configured database without a master key refuses to start', async () => {
  const dir = tempDir('nokey');
  const { code, out } = await runGateway(dir, [], { DATABASE_URL: 'sqlite:./x.db' });
  assert.equal(code, 1);
  assert.match(out, /no master key is set/);
});

test('--help lists the flags', async () => {
  const { code, out } = await runGateway(REPO, ['--help']);
  assert.equal(code, 0);
  for (const flag of ['--config', '--port', '--host', 'LITELLM_MASTER_KEY', 'DATABASE_URL']) assert.ok(out.includes(flag), flag);
});

test('arguments it does not understand stop it with a usage line; LiteLLM\'s process flags are ignored with a warning', async () => {
  const dir = tempDir('args');
  for (const args of [['serve', 'litellm'], ['--bogus'], ['--port']]) {
    const { code, out } = await runGateway(dir, args);
    assert.equal(code, 1, args.join(' '));
    assert.match(out, /usage: llm-proxy \[--config PATH\]/, args.join(' '));
    assert.doesNotMatch(out, /listening on/);
  }
  const { code, out } = await runGateway(dir, ['--num_workers', '4', '--version']);
  assert.equal(code, 0, out);
  // A command of its own, with its own usage (exit 2, as usage errors of commands are).
  const imp = await runGateway(dir, ['import', 'litellm']);
  assert.equal(imp.code, 2);
  assert.match(imp.out, /--from must be LiteLLM's PostgreSQL database[\s\S]*usage: llm-proxy import litellm --from/);
});

function runGateway(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(REPO, 'bin/llm-proxy.mjs'), ...args], { cwd, env: { PATH: process.env.PATH, ...env } });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (out += c));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

test('Redis: router_settings.redis_url or redis_host / port / password, else REDIS_URL or REDIS_HOST..., as LiteLLM reads them', () => {
  const at = (yaml: string, env: NodeJS.ProcessEnv = {}) => loadConfig(writeConfig(yaml), env).config;
  assert.equal(at('model_list: []\n').redisUrl, null);
  assert.equal(at('model_list: []\n', { REDIS_URL: 'redis://r:6380/2' }).redisUrl, 'redis://r:6380/2');
  assert.equal(at('model_list: []\n', { REDIS_HOST: 'cache', REDIS_PASSWORD: 'p@ss word' }).redisUrl, 'redis://:p%40ss%20word@cache:6379');
  assert.equal(at('model_list: []\n', { REDIS_HOST: 'cache', REDIS_PORT: '6390', REDIS_USERNAME: 'gw', REDIS_PASSWORD: 'x', REDIS_SSL: 'true' }).redisUrl, 'rediss://gw:x@cache:6390');
  // router_settings win over the environment
  assert.equal(at('router_settings:\n  redis_host: r1\n  redis_port: 7000\n  redis_password: s\n', { REDIS_URL: 'redis://other:1' }).redisUrl, 'redis://:s@r1:7000');
  assert.equal(at('router_settings:\n  redis_url: redis://r2:6379\n', { REDIS_HOST: 'x' }).redisUrl, 'redis://r2:6379');
  assert.equal(at('model_list: []\n').redisFailureMode, 'open');
  assert.equal(at('general_settings:\n  redis_failure_mode: closed\n').redisFailureMode, 'closed');
  assert.throws(() => at('general_settings:\n  redis_failure_mode: sometimes\n'), (e: Error) => e instanceof ConfigError && /general_settings\.redis_failure_mode/.test(e.message));
});

test('the proxy budget: litellm_settings.max_budget (USD, 0 is none) and budget_duration', () => {
  const at = (yaml: string) => load(yaml).config.proxyBudget;
  assert.equal(at('model_list: []\n'), null);
  assert.equal(at('litellm_settings:\n  max_budget: 0\n'), null);
  assert.deepEqual(at('litellm_settings:\n  max_budget: 12.5\n  budget_duration: 1mo\n'), { maxBudgetNanos: 12_500_000_000, duration: '1mo' });
  assert.deepEqual(at('litellm_settings:\n  max_budget: 3\n'), { maxBudgetNanos: 3_000_000_000, duration: null });
  assert.throws(() => at('litellm_settings:\n  max_budget: -1\n'), (e: Error) => e instanceof ConfigError && /litellm_settings\.max_budget/.test(e.message));
  assert.throws(() => at('litellm_settings:\n  max_budget: 1\n  budget_duration: monthly\n'), (e: Error) => e instanceof ConfigError && /litellm_settings\.budget_duration.*not a duration/.test(e.message));
});

test('tag budgets: litellm_settings.tag_budget_config, by tag name', () => {
  const at = (yaml: string) => load(yaml).config.tagBudgets;
  assert.deepEqual(at('model_list: []\n'), []);
  assert.deepEqual(at('litellm_settings:\n  tag_budget_config:\n    "product:chat-bot":\n      max_budget: 0.5\n      budget_duration: 1d\n    team-x:\n      max_budget: 2\n'), [
    { name: 'product:chat-bot', maxBudgetNanos: 500_000_000, duration: '1d' },
    { name: 'team-x', maxBudgetNanos: 2_000_000_000, duration: null },
  ]);
  const bad = (yaml: string, field: RegExp) => assert.throws(() => at(yaml), (e: Error) => e instanceof ConfigError && field.test(e.message));
  bad('litellm_settings:\n  tag_budget_config:\n    a:\n      max_budget: -1\n', /tag_budget_config\.a\.max_budget/);
  bad('litellm_settings:\n  tag_budget_config:\n    a:\n      max_budget: 1\n      budget_duration: daily\n', /tag_budget_config\.a\.budget_duration.*not a duration/);
  const { warnings } = load('litellm_settings:\n  tag_budget_config:\n    a:\n      max_budget: 1\n      rpm: 3\n');
  assert.ok(warnings.some((w) => /litellm_settings\.tag_budget_config\.a\.rpm is not a known setting/.test(w)), warnings.join('\n'));
});

test('routing and failure settings in LiteLLM\'s names: strategies, policies by error class, fallbacks of each kind; a fallback naming no group is said at start', () => {
  const { config, warnings } = load(
    `model_list:
  - model_name: a
    litellm_params: { model: openai/x, api_key: k }
  - model_name: b
    litellm_params: { model: openai/y, api_key: k, tags: [eu] }
router_settings:
  routing_strategy: cost-based-routing
  retry_policy: { RateLimitErrorRetries: 3, DefaultRetries: 1 }
  model_group_retry_policy: { a: { TimeoutErrorRetries: 2 } }
  allowed_fails_policy: { InternalServerErrorAllowedFails: 4 }
  context_window_fallbacks: [{ a: [b] }]
  default_fallbacks: [b, nowhere]
  max_fallbacks: 2
  model_group_alias: { gpt: a }
litellm_settings:
  content_policy_fallbacks: [{ a: [b] }]
`,
  );
  assert.equal(config.routing.strategy, 'cost-based-routing');
  assert.deepEqual(config.retryPolicy, { RateLimit: 3, Default: 1 });
  assert.deepEqual(config.groupRetryPolicy, { a: { Timeout: 2 } });
  assert.deepEqual(config.cooldowns.allowedFailsPolicy, { InternalServer: 4 });
  assert.deepEqual(config.fallbacks, { fallbacks: {}, contextWindow: { a: ['b'] }, contentPolicy: { a: ['b'] }, defaults: ['b', 'nowhere'] });
  assert.equal(config.maxFallbacks, 2);
  assert.deepEqual(config.deployments[1]!.tags, ['eu']);
  assert.deepEqual(config.ignoredSettings, []);
  assert.ok(warnings.some((w) => w.includes('default_fallbacks: nowhere is not a model group')), warnings.join('\n'));
  assert.throws(() => load('router_settings:\n  routing_strategy: fastest\n'), /routing_strategy: must be one of: simple-shuffle/);
  // (a misspelt class is a warning naming it, as every unknown key is)
  assert.ok(load('router_settings:\n  retry_policy: { RateLimitRetries: 1 }\n').warnings.some((w) => w.includes('router_settings.retry_policy.RateLimitRetries is not a known setting')));
});

test("LiteLLM's own example configs load: YAML 1.1 as PyYAML reads it (20_000, yes), limits beside litellm_params, an empty environment variable", () => {
  const env: NodeJS.ProcessEnv = {};
  const { config } = load(
    `model_list:
  - model_name: a
    litellm_params: { model: openai/a, api_key: k, tpm: 20_000, drop_params: yes }
  - model_name: b
    litellm_params: { model: openai/b, api_key: k }
    tpm: 100_000
    rpm: 3
environment_variables:
  REDIS_PASSWORD:
  OTHER: set
`,
    env,
  );
  assert.equal(config.deployments[0]!.tpm, 20_000);
  assert.deepEqual([config.deployments[1]!.tpm, config.deployments[1]!.rpm], [100_000, 3]);
  assert.equal(config.deployments[0]!.dropParams, true);
  assert.equal(env.REDIS_PASSWORD, undefined, 'an empty variable is not set');
  assert.equal(env.OTHER, 'set');
});
