// Failure handling against fault-injecting upstreams: retry_policy per error class, the bound on a
// call's upstream attempts (and x-should-retry for the client's SDK), context-window, content-policy,
// default and per-request fallbacks, cooldowns of groups of one with a fallback (not touched while
// resting; a hanging primary answered by its fallback within timeout), half-open probing, 429 reset
// headers, per-request timeouts, the routing headers, and streams failed over before their first byte.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { startRawUpstream, type RawUpstream } from '../helpers/upstream.ts';
import { Cooldowns, restAskedMs } from '../../src/router/cooldowns.ts';
import { GatewayError } from '../../src/http/errors.ts';
import { fallbacksFor, requestFallbacks } from '../../src/router/failures.ts';

let ok: FakeUpstream;
let gw: TestGateway;
/** Upstreams that fail every call their own way, each counting its calls. */
const failing: Record<string, { up: RawUpstream; calls: number }> = {};

async function failingUpstream(name: string, answer: (res: ServerResponse, req: IncomingMessage) => void): Promise<string> {
  const f = { up: null as unknown as RawUpstream, calls: 0 };
  f.up = await startRawUpstream((req, res) => {
    f.calls++;
    answer(res, req);
  });
  failing[name] = f;
  return f.up.base;
}

const serverError = (res: ServerResponse) => {
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } }));
};

before(async () => {
  ok = await startFakeOpenAI();
  const broken = await failingUpstream('broken', serverError);
  const broken2 = await failingUpstream('broken2', serverError);
  const broken3 = await failingUpstream('broken3', serverError);
  const flaky = await failingUpstream('flaky', serverError);
  const hanging = await failingUpstream('hanging', () => {});
  // A 200 stream head, then the connection cut (or nothing at all) before any data.
  const cutFirst = await failingUpstream('cutFirst', (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    setTimeout(() => res.destroy(), 20);
  });
  // Anthropic's 529 (overloaded), in its error envelope.
  const overloaded = await failingUpstream('overloaded', (res) => {
    res.writeHead(529, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
  });
  // A stream whose first frame comes at once and the next after 4 s (a drip far slower than stream_timeout).
  const drip = await failingUpstream('drip', (res) => {
    const frame = (content: string) => `data: ${JSON.stringify({ id: 'chatcmpl-drip', object: 'chat.completion.chunk', created: 0, model: 'gpt-4', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(frame('first'));
    const t = setTimeout(() => res.end(frame(' late') + 'data: [DONE]\n\n'), 4000);
    res.on('close', () => clearTimeout(t));
  });
  const silent = await failingUpstream('silent', (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
  });
  gw = await startInProcess(`model_list:
  - model_name: primary
    litellm_params: { model: openai/gpt-4, api_base: ${broken}/v1 }
  - model_name: second
    litellm_params: { model: openai/gpt-4, api_base: ${broken2}/v1 }
  - model_name: third
    litellm_params: { model: openai/gpt-4, api_base: ${broken3}/v1 }
  - model_name: good
    litellm_params: { model: openai/good-model, api_base: ${ok.url} }
  - model_name: big-context
    litellm_params: { model: openai/big-model, api_base: ${ok.url} }
  - model_name: safe
    litellm_params: { model: openai/safe-model, api_base: ${ok.url} }
  - model_name: small
    litellm_params: { model: openai/gpt-4, api_base: ${ok.url} }
  - model_name: anything
    litellm_params: { model: openai/gpt-4, api_base: ${ok.url} }
  - model_name: flaky
    litellm_params: { model: openai/gpt-4, api_base: ${flaky}/v1 }
  - model_name: slow
    litellm_params: { model: openai/gpt-4, api_base: ${hanging}/v1, timeout: 0.3 }
  - model_name: cut-first
    litellm_params: { model: openai/gpt-4, api_base: ${cutFirst}/v1 }
  - model_name: silent
    litellm_params: { model: openai/gpt-4, api_base: ${silent}/v1, stream_timeout: 0.3 }
  - model_name: claude-busy
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: ${overloaded}, api_key: sk-ant }
  - model_name: drip
    litellm_params: { model: openai/gpt-4, api_base: ${drip}/v1, stream_timeout: 0.2 }
  - model_name: keyed
    litellm_params: { model: openai/gpt-4, api_base: "http://user:pw@127.0.0.1:${new URL(ok.url).port}/v1" }
router_settings:
  num_retries: 0
  allowed_fails: 0
  cooldown_time: 0.4
  retry_policy: { RateLimitErrorRetries: 2, BadRequestErrorRetries: 1 }
  fallbacks: [{ primary: [second, third] }, { flaky: [good] }, { slow: [good] }, { small: [good] }, { cut-first: [good] }, { silent: [good] }, { claude-busy: [good] }]
  context_window_fallbacks: [{ small: [big-context] }]
  content_policy_fallbacks: [{ small: [safe] }]
  default_fallbacks: [good]
`);
});
after(async () => {
  await gw.close();
  await ok.close();
  for (const f of Object.values(failing)) await f.up.close();
});

async function chat(model: string, content = 'hi', extra: Record<string, unknown> = {}) {
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const calls = () => Object.fromEntries(Object.entries(failing).map(([k, v]) => [k, v.calls]));

test('retry_policy: a 429 gets its RateLimitErrorRetries (num_retries 0), a 400 its BadRequestErrorRetries', async () => {
  const before = ok.requests.length;
  const r = await chat('anything', '[[status:429]] [[retry-after:0]] policy', { disable_fallbacks: true });
  assert.equal(r.status, 429);
  assert.equal(ok.requests.length - before, 3, '1 + RateLimitErrorRetries');
  const b2 = ok.requests.length;
  const bad = await chat('anything', '[[status:400]] policy', { disable_fallbacks: true });
  assert.equal(bad.status, 400);
  assert.equal(ok.requests.length - b2, 2, '1 + BadRequestErrorRetries');
  assert.equal(bad.headers.get('x-should-retry'), 'false', 'the gateway retried: the SDK is told not to');
});

test('num_retries 2 with two fallbacks makes at most 1 + 2 + 2 upstream calls, and the client is told not to retry', async () => {
  const before = calls();
  const r = await chat('primary', 'bounded', { num_retries: 2 });
  assert.equal(r.status, 500);
  const after = calls();
  const made = ['broken', 'broken2', 'broken3'].reduce((n, k) => n + after[k]! - before[k]!, 0);
  assert.ok(made <= 5, `${made} calls`);
  assert.ok(after.broken2! > before.broken2! && after.broken3! > before.broken3!, 'both fallbacks tried');
  assert.equal(r.headers.get('x-should-retry'), 'false');
  // One call, no retries and no fallbacks: the SDK keeps its own judgement.
  const alone = await chat('anything', '[[status:503]] alone', { disable_fallbacks: true });
  assert.equal(alone.status, 503);
  assert.equal(alone.headers.get('x-should-retry'), null);
});

test('a context-window error follows context_window_fallbacks, named as LiteLLM names it when there is none', async () => {
  const r = await chat('small', '[[context-window]] long prompt');
  // (every fake answers the directive: the fallback fails too, but it was the big-context group)
  assert.equal(r.status, 400);
  assert.equal(ok.requests.at(-1)!.body.model, 'big-model');
  assert.match(r.body.error.message, /^litellm\.ContextWindowExceededError: /);
  assert.equal(r.body.error.code, 'context_length_exceeded');
  const none = await chat('anything', '[[context-window]] long prompt', { disable_fallbacks: true });
  assert.match(none.body.error.message, /ContextWindowExceededError/);
});

test('a content-policy error follows content_policy_fallbacks; other errors `fallbacks`, else default_fallbacks', async () => {
  await chat('small', '[[content-filter]] flagged');
  assert.equal(ok.requests.at(-1)!.body.model, 'safe-model');
  await chat('small', '[[fail-once:500]] general');
  assert.equal(ok.requests.at(-1)!.body.model, 'good-model');
  const d = await chat('anything', '[[fail-once:500]] default');
  assert.equal(d.status, 200);
  assert.equal(d.body.model, 'good-model');
  assert.equal(d.headers.get('x-litellm-model-group'), 'good');
  assert.equal(d.headers.get('x-litellm-attempted-fallbacks'), '1');
});

test("the request's own fallbacks replace the configured ones, and must be models the caller may use", async () => {
  const r = await chat('primary', 'own list', { fallbacks: ['big-context'] });
  assert.equal(r.status, 200);
  assert.equal(r.body.model, 'big-model');
  assert.ok(!('fallbacks' in ok.requests.at(-1)!.body), 'never sent upstream');
  const objects = await chat('primary', 'own list', { fallbacks: [{ model: 'safe' }] });
  assert.equal(objects.body.model, 'safe-model');
  const unknown = await chat('primary', 'x', { fallbacks: ['nope'] });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.param, 'fallbacks');
  const params = await chat('primary', 'x', { fallbacks: [{ model: 'safe', messages: [] }] });
  assert.equal(params.status, 400);
  assert.match(params.body.error.message, /fallbacks\[0\]\.messages/);
  // A key limited to `primary` may not reach `good` through its fallbacks.
  const key = await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: JSON.stringify({ models: ['primary'] }) }).then((x) => x.json() as any);
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}` },
    body: JSON.stringify({ model: 'primary', messages: [{ role: 'user', content: 'x' }], fallbacks: ['good'] }),
  });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as any).error.param, 'fallbacks');
});

test('a failing group of one with a fallback rests: its calls go to the fallback at once, it is not touched; then one probe brings it back', async () => {
  await sleep(500); // (rests of earlier tests over)
  const first = await chat('flaky', 'rest me');
  assert.equal(first.status, 200, 'answered by the fallback');
  const n = failing.flaky!.calls;
  for (let i = 0; i < 5; i++) {
    const r = await chat('flaky', `resting ${i}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-model-group'), 'good');
  }
  assert.equal(failing.flaky!.calls, n, 'not touched while resting');
  await sleep(450);
  // Rest over: concurrent calls, one probes it (fails: rests again), the others go to the fallback.
  const all = await Promise.all([0, 1, 2, 3].map((i) => chat('flaky', `probe ${i}`)));
  assert.ok(all.every((r) => r.status === 200));
  assert.equal(failing.flaky!.calls, n + 1, 'one probe');
});

test('a hanging primary is answered by its fallback within timeout + 100 ms', async () => {
  const t0 = performance.now();
  const r = await chat('slow', 'hang up', {});
  const took = performance.now() - t0;
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-litellm-model-group'), 'good');
  assert.ok(took < 300 + 100 + 50, `${Math.round(took)} ms`);
  // The request's own timeout shortens the deployment's (never lengthens it).
  const t1 = performance.now();
  await sleep(450);
  const own = await chat('slow', 'hang up', { timeout: 0.1, disable_fallbacks: true });
  assert.equal(own.status, 408);
  assert.ok(performance.now() - t1 - 450 < 300, 'the 0.1 s of the request, not 0.3 s');
  const bad = await chat('good', 'x', { timeout: 'soon' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.param, 'timeout');
});

test('the answer names its deployment, api_base (without credentials), retries and fallbacks', async () => {
  const r = await chat('keyed', 'headers');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-litellm-model-api-base'), `http://127.0.0.1:${new URL(ok.url).port}/v1`);
  assert.equal(r.headers.get('x-litellm-attempted-retries'), '0');
  assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '0');
  const retried = await chat('anything', '[[fail-once:429]] [[retry-after:0]] once', { disable_fallbacks: true });
  assert.equal(retried.headers.get('x-litellm-attempted-retries'), '1');
});

test('a 429 rests a deployment until its rate-limit reset; cooldown_time is the least', () => {
  const now = 1_000_000;
  assert.equal(restAskedMs({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6m0s' }, now), 360_000);
  assert.equal(restAskedMs({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1.5s', 'x-ratelimit-remaining-requests': '5', 'x-ratelimit-reset-requests': '9s' }, now), 1500);
  assert.equal(restAskedMs({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20ms' }, now), 20);
  assert.equal(restAskedMs({ 'retry-after': '3', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '9s' }, now), 3000);
  assert.equal(restAskedMs({ 'retry-after-ms': '250' }, now), 250);
  assert.equal(restAskedMs({ 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': new Date(now + 4000).toISOString() }, now), 4000);
  assert.equal(restAskedMs({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': 'soon' }, now), null);
  const c = new Cooldowns({ allowedFails: 3, allowedFailsPolicy: null, cooldownMs: 1000, disabled: false });
  const limited = new GatewayError('upstream_error', 'limited', { status: 429 });
  c.failed('d', limited, 360_000, now);
  assert.equal(c.standing('d', now + 359_000), 'resting');
  assert.equal(c.standing('d', now + 361_000), 'probe');
  c.failed('e', limited, null, now);
  assert.equal(c.standing('e', now + 999), 'resting');
  assert.equal(c.standing('e', now + 1001), 'probe');
  // A deployment's own cooldown_time in place of the router's.
  c.failed('own', limited, null, now, 4000);
  assert.equal(c.standing('own', now + 3999), 'resting');
  assert.equal(c.standing('own', now + 4001), 'probe');
});

test('allowed_fails_policy counts per error class; a 400 or 403 never rests a deployment', () => {
  const now = 5_000_000;
  const c = new Cooldowns({ allowedFails: 0, allowedFailsPolicy: { Timeout: 2, RateLimit: 1 }, cooldownMs: 1000, disabled: false });
  const timeout = new GatewayError('upstream_timeout', 'slow');
  c.failed('t', timeout, null, now);
  c.failed('t', timeout, null, now);
  assert.equal(c.standing('t', now), 'up', 'two timeouts allowed');
  c.failed('t', timeout, null, now);
  assert.equal(c.standing('t', now), 'resting');
  const limited = new GatewayError('upstream_error', 'limited', { status: 429 });
  c.failed('r', limited, null, now);
  assert.equal(c.standing('r', now), 'up', 'its class has a count: not at once');
  for (const status of [400, 403, 422]) c.failed(`s${status}`, new GatewayError('upstream_error', 'no', { status }), null, now);
  assert.ok([400, 403, 422].every((s) => c.standing(`s${s}`, now) === 'up'));
  c.failed('u', new GatewayError('upstream_error', 'wrong key', { status: 401 }), null, now);
  assert.equal(c.standing('u', now), 'resting', 'a 401 at once (no policy for its class)');
  // A probe that fails rests it again at once; one that succeeds brings it back.
  assert.equal(c.standing('u', now + 1001), 'probe');
  c.probing('u', now + 1001);
  assert.equal(c.standing('u', now + 1002), 'resting', 'one probe at a time');
  c.succeeded('u', now + 1003);
  assert.equal(c.standing('u', now + 1003), 'up');
});

test('which fallbacks an error follows', () => {
  const s = { fallbacks: { a: ['b'] }, contextWindow: { a: ['big'] }, contentPolicy: {}, defaults: ['d'] };
  const cw = new GatewayError('context_window_exceeded', 'long');
  const cp = new GatewayError('content_policy', 'flagged');
  const other = new GatewayError('upstream_error', 'x', { status: 500 });
  assert.deepEqual(fallbacksFor(s, 'a', cw, null), ['big']);
  assert.deepEqual(fallbacksFor(s, 'a', cp, null), [], 'content_policy_fallbacks configured, not for a: none');
  assert.deepEqual(fallbacksFor({ ...s, contentPolicy: null }, 'a', cp, null), ['b'], 'not configured: the general list');
  assert.deepEqual(fallbacksFor(s, 'a', other, null), ['b']);
  assert.deepEqual(fallbacksFor(s, 'z', other, null), ['d']);
  assert.deepEqual(fallbacksFor(s, 'a', other, ['r']), ['r']);
  assert.throws(() => requestFallbacks({ fallbacks: 'x' }), /fallbacks must be a list/);
  assert.deepEqual(requestFallbacks({ fallbacks: ['x', { model: 'y' }] }), ['x', 'y']);
});

test('a stream that fails before its first byte fails over without the client knowing; a silent one after stream_timeout', async () => {
  const stream = async (model: string) => {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'stream me' }] }),
    });
    const text = await res.text();
    return { status: res.status, text, group: res.headers.get('x-litellm-model-group'), ms: performance.now() - t0 };
  };
  const cut = await stream('cut-first');
  assert.equal(cut.status, 200);
  assert.equal(cut.group, 'good');
  assert.match(cut.text, /data: \[DONE\]/);
  assert.doesNotMatch(cut.text, /error/);
  const silent = await stream('silent');
  assert.equal(silent.status, 200);
  assert.equal(silent.group, 'good');
  assert.ok(silent.ms < 300 + 200, `${Math.round(silent.ms)} ms`);
  // Cut after its first bytes reached the client: an error event in its dialect (no failover then).
  const late = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ model: 'good', stream: true, messages: [{ role: 'user', content: '[[cut:2]] late cut' }] }),
  });
  assert.match(await late.text(), /"error"/);
});

test("Anthropic's 529 (overloaded) is a server error: the call falls back, the deployment rests; a drip slower than stream_timeout ends in an error event", async () => {
  const before = failing.overloaded!.calls;
  const r = await chat('claude-busy', 'busy?');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-litellm-model-group'), 'good');
  assert.equal(failing.overloaded!.calls, before + 1);
  const again = await chat('claude-busy', 'busy again?');
  assert.equal(again.status, 200);
  assert.equal(failing.overloaded!.calls, before + 1, 'resting (allowed_fails 0): not touched');
  const t0 = performance.now();
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ model: 'drip', stream: true, messages: [{ role: 'user', content: 'drip' }] }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, 'its first bytes had come: the answer had begun');
  assert.match(text, /first/);
  assert.match(text, /stream_timeout/);
  // (undici's idle timer ticks about every half second)
  assert.ok(performance.now() - t0 < 2500, 'cut at the idle gap (0.2 s), not after the drip (4 s)');
  assert.doesNotMatch(text, /late/);
});
