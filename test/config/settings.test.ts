// The settings table (src/config/settings.ts): in step with the schema the loader reads, with the
// README's compatibility section (made from it), and behind `check-config` and the start's warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { z } from 'zod';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigFile, GeneralSettings, LitellmParams, LitellmSettings, ModelEntry, ModelInfo, RouterSettings } from '../../src/config/schema.ts';
import { compatibilityMarkdown, SETTINGS } from '../../src/config/settings.ts';
import { REPO, writeConfig } from '../helpers/gateway.ts';

const run = promisify(execFile);

const keys = (schema: z.ZodObject) => Object.keys(schema.shape);
/** An object schema under optional/nullable wrappers. */
const inner = (schema: unknown): z.ZodObject => {
  let s = schema as { unwrap?: () => unknown; shape?: unknown };
  while (!s.shape && s.unwrap) s = s.unwrap() as typeof s;
  return s as unknown as z.ZodObject;
};

/** The providers' sources, where the parameters they read from a model's open litellm_params are named. */
const PROVIDER_SOURCES = readdirSync(join(REPO, 'src/providers'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => readFileSync(join(REPO, 'src/providers', f), 'utf8'))
  .join('\n');

test('the table names every setting the loader reads as honoured (or its own), and none it reads as ignored', () => {
  const sections: [string, z.ZodObject][] = [
    ['', ConfigFile],
    ['model_list.', ModelEntry],
    ['model_list.litellm_params.', LitellmParams],
    ['model_list.model_info.', ModelInfo],
    ['general_settings.', GeneralSettings],
    ['litellm_settings.', LitellmSettings],
    ['litellm_settings.cache_params.', inner(LitellmSettings.shape.cache_params)],
    ['router_settings.', RouterSettings],
  ];
  for (const [prefix, schema] of sections) {
    const read = new Set(keys(schema).map((k) => prefix + k));
    const inTable = SETTINGS.filter((s) => s.path.startsWith(prefix) && !s.path.slice(prefix.length).includes('.'));
    for (const path of read) {
      const s = inTable.find((x) => x.path === path);
      assert.ok(s, `${path} is read by the loader: the table must say so`);
      assert.notEqual(s.support, 'ignored', `${path} is read by the loader, not ignored`);
    }
    for (const s of inTable) {
      const param = s.path.startsWith('model_list.litellm_params.') ? s.path.slice('model_list.litellm_params.'.length) : null;
      if (param && s.support !== 'ignored' && !read.has(s.path)) {
        assert.ok(new RegExp(`\\b${param}\\b`).test(PROVIDER_SOURCES), `${s.path} is honoured in the table: a provider must read it`);
        continue;
      }
      if (s.support === 'ignored') assert.ok(!read.has(s.path), `${s.path} is ignored in the table but read by the loader`);
      else assert.ok(read.has(s.path), `${s.path} is ${s.support} in the table but the loader does not read it`);
    }
  }
  const paths = SETTINGS.map((s) => s.path);
  assert.equal(new Set(paths).size, paths.length, 'each setting once');
  for (const s of SETTINGS) if (s.support !== 'honoured') assert.ok(s.note, `${s.path}: a setting honoured differently, this gateway's own or ignored says how or why`);
});

test("the README's compatibility section is the table's (UPDATE_README=1 writes it)", () => {
  const file = join(REPO, 'README.md');
  const readme = readFileSync(file, 'utf8');
  const begin = '<!-- settings table: made from src/config/settings.ts -->\n';
  const end = '\n<!-- end of settings table -->';
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  assert.ok(a >= 0 && b > a, 'the README has the settings table between its markers');
  const expected = compatibilityMarkdown();
  if (process.env.UPDATE_README === '1') writeFileSync(file, readme.slice(0, a + begin.length) + expected + readme.slice(b));
  else assert.equal(readme.slice(a + begin.length, b), expected, 'the README\'s settings table is out of date: run UPDATE_README=1 node --test test/config/settings.test.ts');
});

const LITELLM_CONFIG = `model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-upstream
      rpm: 100
      temperature: 0.2
      mock_response: hi
general_settings:
  master_key: sk-1234
  proxy_batch_write_at: 60
  disable_spend_logs: true
litellm_settings:
  success_callback: ["langfuse"]
  turn_off_message_logging: true
  cache: true
  cache_params: { type: local, ttl: 60 }
router_settings:
  routing_strategy: least-busy
  redis_db: 2
  not_a_setting: 1
`;

async function checkCmd(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(REPO, 'src/main.ts'), 'check-config', ...args], { cwd: REPO, env: { PATH: process.env.PATH } });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

test('check-config: every setting of a LiteLLM config, and a non-zero exit when behaviour would be lost', async () => {
  const file = writeConfig(LITELLM_CONFIG);
  const r = await checkCmd([file]);
  assert.equal(r.code, 1, r.err);
  for (const line of [
    /honoured  model_list \(1 model\)/,
    /honoured  model_list\[0\]\.litellm_params\.rpm/,
    /IGNORED   model_list\[0\]\.litellm_params\.mock_response: mock answers/,
    /ignored   general_settings\.proxy_batch_write_at: /,
    /IGNORED   general_settings\.disable_spend_logs: a spend log is always written/,
    /IGNORED   litellm_settings\.success_callback: logging and observability integrations/,
    /differs   litellm_settings\.turn_off_message_logging: prompts and answers are never logged here/,
    /honoured  litellm_settings\.cache_params\.ttl/,
    /honoured  router_settings\.routing_strategy/,
    /IGNORED   router_settings\.redis_db/,
    /UNKNOWN   router_settings\.not_a_setting/,
    /4 of them change what LiteLLM does\), 1 unknown\./,
    /Not ready to switch/,
  ]) assert.match(r.out, line);
  assert.doesNotMatch(r.out, /temperature/, 'a provider parameter the table does not name goes to the provider, unflagged');

  // The start says the same: one warning line per ignored setting.
  const { warnings, config } = loadConfig(file, {});
  for (const path of ['model_list[0].litellm_params.mock_response', 'general_settings.proxy_batch_write_at', 'general_settings.disable_spend_logs', 'litellm_settings.success_callback', 'router_settings.redis_db', 'router_settings.not_a_setting']) {
    assert.equal(warnings.filter((w) => w.includes(` ${path} `)).length, 1, `${path}: ${warnings.join('\n')}`);
  }
  assert.ok(config.ignoredSettings.includes('model_list[0].litellm_params.mock_response'));
  assert.ok(!warnings.some((w) => w.includes('turn_off_message_logging')), 'what is already so here warns nothing');
});

test('check-config: the shipped config is ready; a file that does not load is exit 2', async () => {
  const ok = await checkCmd([join(REPO, 'config.yaml')]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /Ready to switch/);
  const invalid = await checkCmd([writeConfig('model_list:\n  - model_name: x\n    litellm_params: { api_key: k }\n')]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.err, /The file does not load here: .*model_list\[0\]\.litellm_params\.model: is required/);
  const missing = await checkCmd(['/nonexistent/config.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /cannot be read \(ENOENT\)/);
  const twoFiles = await checkCmd(['a.yaml', 'b.yaml']);
  assert.equal(twoFiles.code, 2);
  assert.match(twoFiles.err, /check-config takes one file/);
});
