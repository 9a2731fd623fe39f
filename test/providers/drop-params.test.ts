// LiteLLM's drop_params and additional_drop_params on a deployment (and additional_drop_params in a
// request): fields the provider does not take are left out before the call, or refused with a 400 naming
// them when nobody said to drop them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeAnthropic } from '../fakes/anthropic-upstream.ts';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let gpt: FakeUpstream;
let claude: FakeUpstream;
let gw: TestGateway;
before(async () => {
  gpt = await startFakeOpenAI();
  claude = await startFakeAnthropic();
  gw = await startInProcess(`model_list:
  - model_name: strict-server
    litellm_params: { model: openai/m, api_base: "${gpt.url}", additional_drop_params: [temperature, logit_bias] }
  - model_name: plain
    litellm_params: { model: openai/m, api_base: "${gpt.url}" }
  - model_name: claude-dropping
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${claude.url}", drop_params: true }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${claude.url}" }
`);
});
after(async () => {
  await gw.close();
  await gpt.close();
  await claude.close();
});

const client = () => new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });

test("a deployment's additional_drop_params never reach its provider; other fields do", async () => {
  await client().chat.completions.create({ model: 'strict-server', temperature: 0.2, top_p: 0.9, logit_bias: { '50256': -100 }, messages: [{ role: 'user', content: 'hi' }] });
  const body = gpt.requests.at(-1)!.body;
  assert.equal(body.temperature, undefined);
  assert.equal(body.logit_bias, undefined);
  assert.equal(body.top_p, 0.9);
  assert.equal(body.model, 'm');
});

test("a request's additional_drop_params: those fields left out, the list itself never sent", async () => {
  await client().chat.completions.create({ model: 'plain', seed: 3, temperature: 0.5, messages: [{ role: 'user', content: 'hi' }], additional_drop_params: ['seed'] } as never);
  const body = gpt.requests.at(-1)!.body;
  assert.equal(body.seed, undefined);
  assert.equal(body.additional_drop_params, undefined);
  assert.equal(body.temperature, 0.5);
});

test("a deployment's drop_params: a parameter its provider lacks is left out instead of refused", async () => {
  const refused: any = await client().chat.completions.create({ model: 'claude', logprobs: true, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
  assert.equal(refused.status, 400);
  assert.equal(refused.error.param, 'logprobs');
  const r = await client().chat.completions.create({ model: 'claude-dropping', logprobs: true, messages: [{ role: 'user', content: 'hi' }] });
  assert.match(r.choices[0]!.message.content!, /fake Claude/);
  assert.equal(claude.requests.at(-1)!.body.logprobs, undefined);
});

test('a bad additional_drop_params is a config error naming it', async () => {
  const { loadConfig } = await import('../../src/config/load.ts');
  const { writeConfig } = await import('../helpers/gateway.ts');
  assert.throws(() => loadConfig(writeConfig('model_list:\n  - model_name: a\n    litellm_params: { model: openai/a, additional_drop_params: temperature }\n'), {}), /additional_drop_params/);
});
