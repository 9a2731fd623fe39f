// Bad input gets a 4xx in the OpenAI envelope naming the problem; never a 500, a crash or a hang.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let gw: TestGateway;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(`${fakeModels(fake.url)}general_settings:\n  max_request_size_mb: 0.01\n`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

const cases: { name: string; path?: string; method?: string; body?: string; status: number; type: string; param?: string | null; message?: RegExp }[] = [
  { name: 'malformed JSON', body: '{"model": "gpt-4",', status: 400, type: 'bad_request_error', message: /not valid JSON/ },
  { name: 'a JSON array', body: '[1,2]', status: 400, type: 'bad_request_error', message: /JSON object/ },
  { name: 'an empty body', body: '', status: 400, type: 'bad_request_error', message: /empty/ },
  { name: 'missing model', body: '{"messages":[{"role":"user","content":"hi"}]}', status: 400, type: 'bad_request_error', param: 'model' },
  { name: 'model of the wrong type', body: '{"model":5,"messages":[]}', status: 400, type: 'bad_request_error', param: 'model' },
  { name: 'missing messages', body: '{"model":"gpt-4"}', status: 400, type: 'bad_request_error', param: 'messages' },
  { name: 'messages not an array', body: '{"model":"gpt-4","messages":"hi"}', status: 400, type: 'bad_request_error', param: 'messages' },
  { name: 'a message without role', body: '{"model":"gpt-4","messages":[{"content":"hi"}]}', status: 400, type: 'bad_request_error', param: 'messages[0].role' },
  { name: 'stream not a boolean', body: '{"model":"gpt-4","messages":[],"stream":"yes"}', status: 400, type: 'bad_request_error', param: 'stream' },
  { name: 'unknown model', body: '{"model":"gpt-9","messages":[]}', status: 400, type: 'bad_request_error', param: 'model', message: /\/v1\/models/ },
  { name: 'embeddings without input', path: '/v1/embeddings', body: '{"model":"gpt-4"}', status: 400, type: 'bad_request_error', param: 'input' },
  { name: 'a body over the limit', body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'x'.repeat(20_000) }] }), status: 413, type: 'bad_request_error', message: /max_request_size_mb/ },
  { name: 'an unknown route', path: '/v1/nope', status: 404, type: 'not_found_error', message: /\/v1\/nope/ },
  { name: 'a wrong method', method: 'GET', status: 404, type: 'not_found_error' },
  { name: 'key/generate with a mistyped field', path: '/key/generate', body: '{"max_budget":"ten"}', status: 400, type: 'bad_request_error', param: 'max_budget' },
  { name: 'key/generate with a bad duration', path: '/key/generate', body: '{"duration":"soon"}', status: 400, type: 'bad_request_error', param: 'duration' },
  { name: 'key/generate with a custom key not starting sk-', path: '/key/generate', body: '{"key":"abc"}', status: 400, type: 'bad_request_error', param: 'key' },
  { name: 'key/generate with malformed JSON', path: '/key/generate', body: '{', status: 400, type: 'bad_request_error' },
  { name: 'key/update without key', path: '/key/update', body: '{"models":[]}', status: 400, type: 'bad_request_error', param: 'key' },
  { name: 'key/update of an unknown key', path: '/key/update', body: '{"key":"sk-unknown-key-123"}', status: 404, type: 'not_found_error' },
  { name: 'key/delete with nothing to delete', path: '/key/delete', body: '{}', status: 400, type: 'bad_request_error', param: 'keys' },
  { name: 'key/list with a bad page', method: 'GET', path: '/key/list?page=0', status: 400, type: 'bad_request_error', param: 'page' },
];

for (const c of cases) {
  test(`${c.name}: ${c.status} ${c.type}`, async () => {
    const r = await call(c.method ?? 'POST', c.path ?? '/v1/chat/completions', c.method === 'GET' ? undefined : (c.body ?? '{}'));
    assert.equal(r.status, c.status);
    assert.equal(r.body.error.type, c.type);
    assert.equal(r.body.error.code, String(c.status));
    if (c.param !== undefined) assert.equal(r.body.error.param, c.param);
    if (c.message) assert.match(r.body.error.message, c.message);
  });
}

test('JSON without a content-type header is accepted, as LiteLLM does', async () => {
  const body = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(status, 200);
});

test('the process keeps serving after all of the above', async () => {
  const r = await call('POST', '/chat/completions', JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }));
  assert.equal(r.status, 200);
});

/** A POST whose body is sent in chunks, without a content-length. */
function chunked(path: string, parts: string[]): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'x-api-key': MASTER_KEY } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    for (const p of parts) req.write(p);
    req.end();
  });
}

test('a body over the limit without a content-length: 413 in the route dialect', async () => {
  const parts = [`{"model":"gpt-4","max_tokens":5,"messages":[{"role":"user","content":"`, ...Array.from({ length: 5 }, () => 'x'.repeat(4000)), '"}]}'];
  const openai = await chunked('/v1/chat/completions', parts);
  assert.equal(openai.status, 413);
  assert.equal(openai.body.error.type, 'bad_request_error');
  assert.match(openai.body.error.message, /max_request_size_mb/);
  const anthropic = await chunked('/v1/messages', parts);
  assert.equal(anthropic.status, 413);
  assert.equal(anthropic.body.type, 'error');
  assert.equal(anthropic.body.error.type, 'request_too_large');
});

test('LLM routes answer alike with a trailing slash, a query string or a chunked body', async () => {
  const body = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
  for (const path of ['/v1/chat/completions/', '/chat/completions?x=1', '/v1/chat/completions']) {
    const r = await call('POST', path, body);
    assert.equal(r.status, 200, path);
    assert.equal(r.body.object, 'chat.completion', path);
  }
  const r = await chunked('/v1/chat/completions', [body.slice(0, 10), body.slice(10)]);
  assert.equal(r.status, 200);
});
