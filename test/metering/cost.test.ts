// Usage normalization and exact cost: fixtures in OpenAI's documented usage shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { costNanos } from '../../src/metering/cost.ts';
import { PriceBook, perMillionToPico, perTokenToPico } from '../../src/metering/prices.ts';
import { fromOpenAI } from '../../src/metering/usage.ts';
import { loadConfig } from '../../src/config/load.ts';
import { writeConfig } from '../helpers/gateway.ts';

const deployments = (yaml: string) => loadConfig(writeConfig(yaml), {}).config.deployments;

test('cached input is counted once: prompt_tokens include cached_tokens', () => {
  const u = fromOpenAI({
    prompt_tokens: 2006,
    completion_tokens: 300,
    total_tokens: 2306,
    prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  });
  assert.deepEqual(u, { input: 86, cacheRead: 1920, cacheWrite: 0, cacheWrite1h: 0, output: 300, reasoning: 0, estimated: false });
  // gpt-4o: 2.5 $/MTok input, 1.25 cached, 10 output
  const price = new PriceBook().priceFor(deployments('model_list:\n  - model_name: m\n    litellm_params: { model: openai/gpt-4o }\n')[0]!, 'gpt-4o');
  // 86*2.5e-6 + 1920*1.25e-6 + 300*10e-6 = 0.000215 + 0.0024 + 0.003 = 0.005615 USD
  assert.equal(costNanos(u, price), 5_615_000);
});

test('reasoning tokens are part of completion_tokens, priced as output unless a reasoning price is set', () => {
  const u = fromOpenAI({ prompt_tokens: 100, completion_tokens: 1000, completion_tokens_details: { reasoning_tokens: 800 } });
  assert.equal(u.output, 1000);
  assert.equal(u.reasoning, 800);
  const [plain, split] = deployments(`model_list:
  - model_name: a
    litellm_params: { model: openai/x, input_cost_per_token: 0.000001, output_cost_per_token: 0.000004 }
  - model_name: b
    litellm_params: { model: openai/x, input_cost_per_token: 0.000001, output_cost_per_token: 0.000004, output_cost_per_reasoning_token: 0.000002 }
`);
  const book = new PriceBook();
  assert.equal(costNanos(u, book.priceFor(plain!, 'x')), 100 * 1000 + 1000 * 4000);
  assert.equal(costNanos(u, book.priceFor(split!, 'x')), 100 * 1000 + 200 * 4000 + 800 * 2000);
});

test('DeepSeek reports cache hits as prompt_cache_hit_tokens', () => {
  const u = fromOpenAI({ prompt_tokens: 500, completion_tokens: 10, prompt_cache_hit_tokens: 400, prompt_cache_miss_tokens: 100 });
  assert.equal(u.cacheRead, 400);
  assert.equal(u.input, 100);
});

test('config prices override the catalog, field by field; base_model is looked up', () => {
  const [d] = deployments(`model_list:
  - model_name: m
    litellm_params: { model: openai/my-finetune, input_cost_per_token: 0.00000001875 }
    model_info: { base_model: gpt-4o-mini }
`);
  const p = new PriceBook().priceFor(d!, 'my-finetune');
  assert.equal(p.input, 18_750);
  assert.equal(p.output, perMillionToPico(0.6), 'output from the catalog entry of gpt-4o-mini');
  assert.equal(p.source, 'config');
});

test('a model without a known price costs 0', () => {
  const [d] = deployments('model_list:\n  - model_name: m\n    litellm_params: { model: openai/totally-unknown-model-xyz }\n');
  const p = new PriceBook().priceFor(d!, 'totally-unknown-model-xyz');
  assert.equal(p.source, 'none');
  assert.equal(costNanos(fromOpenAI({ prompt_tokens: 1000, completion_tokens: 1000 }), p), 0);
});

test('catalog figures for the main models ($ per million tokens)', () => {
  const book = new PriceBook();
  const cases: [string, string, number, number][] = [
    ['openai', 'gpt-4o', 2.5, 10],
    ['openai', 'gpt-4o-mini', 0.15, 0.6],
    ['openai', 'gpt-3.5-turbo', 0.5, 1.5],
    ['openai', 'gpt-4', 30, 60],
    ['openai', 'text-embedding-3-small', 0.02, 0],
  ];
  for (const [provider, model, input, output] of cases) {
    const [d] = deployments(`model_list:\n  - model_name: m\n    litellm_params: { model: ${provider}/${model} }\n`);
    const p = book.priceFor(d!, model);
    assert.equal(p.input, perMillionToPico(input), model);
    assert.equal(p.output, perMillionToPico(output), model);
  }
});

test('money stays exact: prices in pico-dollars, one half-up rounding to nano-dollars', () => {
  assert.equal(perTokenToPico(0.01875e-6), 18_750);
  assert.equal(perTokenToPico(0.1 + 0.2), 300_000_000_000);
  const p = { input: 18_750, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, reasoning: null, perQuery: 0, tiers: [], source: 'config' as const };
  // 1 token at 18,750 pico = 18.75 nano -> 19 (half up); 2 tokens = 37.5 -> 38
  assert.equal(costNanos({ input: 1, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 0, reasoning: 0, estimated: false }, p), 19);
  assert.equal(costNanos({ input: 2, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 0, reasoning: 0, estimated: false }, p), 38);
  // a huge request does not lose precision: 50M tokens at $1000/MTok
  const big = { ...p, input: perMillionToPico(1000) };
  assert.equal(costNanos({ input: 50_000_000, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 0, reasoning: 0, estimated: false }, big), 50_000 * 1e9);
});

test('long-context tiers apply from their threshold', () => {
  const [d] = deployments(`model_list:
  - model_name: m
    litellm_params: { model: openai/x, input_cost_per_token: 0.000003, output_cost_per_token: 0.000015, input_cost_per_token_above_200k_tokens: 0.000006, output_cost_per_token_above_200k_tokens: 0.0000225 }
`);
  const p = new PriceBook().priceFor(d!, 'x');
  const u = (input: number) => ({ input, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 100, reasoning: 0, estimated: false });
  assert.equal(costNanos(u(199_999), p), 199_999 * 3000 + 100 * 15000);
  assert.equal(costNanos(u(200_000), p), 200_000 * 6000 + 100 * 22500);
});
