// Budgets and limits that hold under concurrency, and release everything on every exit path.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let gw: TestGateway;

// 1 $/MTok in, 2 $/MTok out: 1,000 and 2,000 nano-dollars per token.
before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(`model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: "${fake.url}", input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

async function api(method: string, path: string, body?: unknown, key = MASTER_KEY) {
  const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${key}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text.startsWith('{') ? JSON.parse(text) : null };
}

const chat = (key: string, extra: Record<string, unknown> = {}, content = 'hi') =>
  api('POST', '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content }], ...extra }, key);

async function spendOf(key: string): Promise<number> {
  const logs = (await api('GET', `/spend/logs?api_key=${key}&page_size=1000`)).body;
  return logs.data.reduce((s: number, l: any) => s + Math.round(l.spend * 1e9), 0);
}

function held() {
  return gw.app.ctx.limiter.held();
}

for (const stream of [false, true]) {
  test(`100 parallel requests with max_tokens on a budget for 10: never over, at least half used (${stream ? 'streamed' : 'plain'})`, async () => {
    // One answer: 1 prompt token (the fake counts words) + 15 output tokens = 31,000 nano-dollars.
    // The gateway reserves its prompt estimate (body bytes / 4) + max_tokens output.
    const answer = 1 * 1000 + 15 * 2000;
    const budget = 10 * answer;
    const key = (await api('POST', '/key/generate', { max_budget: budget / 1e9 })).body.key;
    const results = await Promise.all(Array.from({ length: 100 }, () => chat(key, { max_tokens: 15, stream })));
    const ok = results.filter((r) => r.status === 200 && !r.text.includes('"error"'));
    const refused = results.filter((r) => r.status === 429);
    assert.equal(ok.length + refused.length, 100);
    for (const r of refused) assert.equal(r.body.error.type, 'budget_exceeded');
    assert.equal(refused[0]?.headers.get('x-should-retry'), 'false');
    const spent = await spendOf(key);
    assert.ok(spent <= budget, `spent ${spent} > budget ${budget}`);
    assert.equal(spent, ok.length * answer, 'spend is exactly what the clients were shown');
    assert.ok(spent >= budget / 2, `only ${spent} of ${budget} used`);
    assert.deepEqual(held(), { reservations: 0, slots: 0 });
    // and now the key is spent: refused at once
    const later = await chat(key, { max_tokens: 15 });
    if (spent + answer > budget) assert.equal(later.status, 429);
  });
}

test('without max_tokens, streamed: spend stays within the budget plus the documented bound', async () => {
  const answer = 1 * 1000 + 15 * 2000;
  const budget = 10 * answer;
  const key = (await api('POST', '/key/generate', { max_budget: budget / 1e9 })).body.key;
  await Promise.all(Array.from({ length: 50 }, () => chat(key, { stream: true })));
  const spent = await spendOf(key);
  // Bound: one metering step per in-flight stream (here a whole answer each, the stream being short).
  assert.ok(spent <= budget + 50 * answer, `spent ${spent}`);
  assert.deepEqual(held(), { reservations: 0, slots: 0 });
});

test('a long stream on a nearly spent key is cut by the budget: error event, upstream cancelled', async () => {
  // Budget for about 100 output tokens; the stream would produce 2,000.
  const key = (await api('POST', '/key/generate', { max_budget: (5_000 + 100 * 2000) / 1e9 })).body.key;
  const before = fake.requests.length;
  const r = await chat(key, { stream: true, max_tokens: 100_000 }, '[[chunks:2000]] [[gap:1]] long');
  assert.equal(r.status, 200);
  const frames = r.text.split('\n\n').filter(Boolean);
  const last = JSON.parse(frames.at(-1)!.slice(6));
  assert.equal(last.error.type, 'budget_exceeded');
  assert.ok(!r.text.includes('[DONE]'));
  assert.ok(frames.length < 1000, `${frames.length} frames before the cut`);
  assert.equal(fake.requests.length, before + 1);
  for (let i = 0; i < 200 && !fake.requests.at(-1)!.aborted; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(fake.requests.at(-1)!.aborted, true, 'upstream call cancelled');
  const spent = await spendOf(key);
  const budget = 5_000 + 100 * 2000;
  // Bound: one metering step (a quarter of the reservation) plus the chunks in flight.
  assert.ok(spent <= budget * 1.5, `spent ${spent} of ${budget}`);
  assert.deepEqual(held(), { reservations: 0, slots: 0 });
});

test('rpm_limit holds under concurrency; refused requests answer 429 with retry-after and consume nothing', async () => {
  const key = (await api('POST', '/key/generate', { rpm_limit: 5 })).body.key;
  const results = await Promise.all(Array.from({ length: 20 }, () => chat(key)));
  assert.equal(results.filter((r) => r.status === 200).length, 5);
  const refused = results.find((r) => r.status === 429)!;
  assert.equal(refused.body.error.type, 'rate_limit_error');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  assert.equal(refused.headers.get('x-ratelimit-limit-requests'), '5');
  assert.equal(refused.headers.get('x-ratelimit-remaining-requests'), '0');
  const logs = (await api('GET', `/spend/logs?api_key=${key}&status=error`)).body;
  assert.equal(logs.total, 15);
});

test('max_parallel_requests holds, and slots come back after errors, hangs cut by the client, and disconnects', async () => {
  const key = (await api('POST', '/key/generate', { max_parallel_requests: 2 })).body.key;
  const results = await Promise.all(Array.from({ length: 10 }, () => chat(key, {}, '[[delay:100]] slow')));
  assert.equal(results.filter((r) => r.status === 200).length, 2);
  assert.deepEqual(held(), { reservations: 0, slots: 0 });

  const storm = await api('POST', '/key/generate', { max_parallel_requests: 50, max_budget: 1 });
  const k = storm.body.key;
  await Promise.all([
    ...Array.from({ length: 10 }, () => chat(k, {}, '[[status:500]]')),
    ...Array.from({ length: 10 }, () => chat(k, {}, '[[status:429]]')),
    ...Array.from({ length: 10 }, () => disconnectAfter(k, '[[hang]]', 50)),
    ...Array.from({ length: 10 }, () => disconnectAfter(k, '[[chunks:500]] [[gap:10]]', 50, true)),
  ]);
  for (let i = 0; i < 200 && held().slots + held().reservations > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(held(), { reservations: 0, slots: 0 });
});

test("tpm_limit holds each call's expected tokens while it runs, then counts the tokens it used", async () => {
  // A call holds its prompt estimate (body bytes / 4) and max_tokens; the fake uses 1 prompt token and 15 output.
  const slow = '[[delay:200]] hi';
  const expected = Math.ceil(Buffer.byteLength(JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: slow }], max_tokens: 15 })) / 4) + 15;
  const limit = 2 * expected + 5;
  const key = (await api('POST', '/key/generate', { tpm_limit: limit })).body.key;
  await clearOfMinuteEnd();
  // In parallel: the window is empty, but two calls in flight hold all of it.
  const parallel = await Promise.all(Array.from({ length: 5 }, () => chat(key, { max_tokens: 15 }, slow)));
  assert.deepEqual(parallel.map((r) => r.status).sort(), [200, 200, 429, 429, 429]);
  const refused = parallel.find((r) => r.status === 429)!;
  assert.equal(refused.headers.get('x-ratelimit-limit-tokens'), String(limit));
  assert.match(refused.body.error.message, new RegExp(`^Rate limit reached: tpm_limit of this key \\(${limit} tokens per minute\\)`));
  // What they used replaced what they held: each next call fits while the real tokens leave room.
  const used = parallel.filter((r) => r.status === 200).reduce((n, r) => n + r.body.usage.total_tokens, 0);
  let window = used;
  let answered = 0;
  for (;;) {
    const r = await chat(key, { max_tokens: 15 }, slow);
    if (r.status !== 200) break;
    answered++;
    window += r.body.usage.total_tokens;
  }
  assert.equal(answered, Math.ceil((limit - expected - used + 1) / 16), `calls until the real tokens (${window}) leave no room for ${expected}`);
  assert.ok(window + expected > limit && window - 16 + expected <= limit);
});

test('a call that fails gives back every token it held', async () => {
  const content = '[[status:400]] hi';
  const expected = Math.ceil(Buffer.byteLength(JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }], max_tokens: 15 })) / 4) + 15;
  const key = (await api('POST', '/key/generate', { tpm_limit: expected + 3 })).body.key;
  // Room for one call's hold only: each failed call left the window as it found it.
  for (let i = 0; i < 3; i++) assert.equal((await chat(key, { max_tokens: 15 }, content)).status, 400);
  assert.equal((await chat(key, { max_tokens: 15 })).status, 200);
});

/** Waits out the last seconds of a clock minute: a sliding window's count changes as the next begins. */
async function clearOfMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 10));
}

function disconnectAfter(key: string, content: string, ms: number, stream = false): Promise<void> {
  return new Promise((resolve) => {
    const req = request(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` } }, (res) => res.resume());
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end(JSON.stringify({ model: 'gpt-4', stream, messages: [{ role: 'user', content }] }));
    setTimeout(() => req.destroy(), ms);
  });
}

test('budget_duration: a spent key works again once its period ends, not before', async () => {
  const answer = 1 * 1000 + 15 * 2000;
  // Room for one answer's reservation (prompt estimate + max_tokens), not for two.
  const key = (await api('POST', '/key/generate', { max_budget: (2 * answer) / 1e9, budget_duration: '2s' })).body;
  assert.equal((await chat(key.key, { max_tokens: 15 })).status, 200);
  await new Promise((r) => setTimeout(r, 300)); // the record reaches the database
  assert.equal((await chat(key.key, { max_tokens: 15 })).status, 429);
  const resetAt = Date.parse((await api('GET', `/key/info?key=${key.key}`)).body.info.budget_reset_at);
  while (Date.now() < resetAt + 300) await new Promise((r) => setTimeout(r, 50));
  const info = (await api('GET', `/key/info?key=${key.key}`)).body.info;
  assert.equal(info.spend, 0);
  assert.ok(Date.parse(info.budget_reset_at) > resetAt);
  assert.equal((await chat(key.key, { max_tokens: 15 })).status, 200);
});

test('a first call refused by its own reservation says so: its expected cost, the output assumed, and how to fit', async () => {
  // 0.001 $ pays for about 490 output tokens at 2 $/M, not a max_tokens of 4,096.
  const key = (await api('POST', '/key/generate', { max_budget: 0.001 })).body.key;
  const refused = await chat(key, { max_tokens: 4096 });
  assert.equal(refused.status, 429);
  const m = refused.body.error.message as string;
  assert.match(m, /^Budget has been exceeded! Current cost: 0, Max budget: 0\.001 /);
  assert.match(m, /This call was expected to cost up to 0\.0082\d* \(\d+ prompt tokens estimated, 4096 output tokens, its max_tokens\), more than the 0\.001 left\./);
  const fits = await chat(key, { max_tokens: 15 });
  assert.equal(fits.status, 200);
});
