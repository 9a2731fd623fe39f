// A non-streamed answer that breaks after its headers: cut mid-body, or silent until the timeout.
// The caller gets an error in its wire format with the right status, and the call is recorded as such.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asMaster, MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { startRawUpstream, type RawUpstream } from '../helpers/upstream.ts';

let upstream: RawUpstream;
let gw: TestGateway;

before(async () => {
  // Announces a 2,000-byte JSON answer, sends its first 100 bytes, then breaks or goes silent.
  upstream = await startRawUpstream((req, res) => {
    const start = JSON.stringify({ id: 'chatcmpl-broken', object: 'chat.completion', created: 0, model: 'gpt-4', choices: [] }).slice(0, 100);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2000' });
    res.write(start);
    if (req.url!.startsWith('/cut/')) setTimeout(() => res.socket!.destroy(), 20);
  });
  gw = await startInProcess(`model_list:
  - model_name: cut
    litellm_params: { model: openai/gpt-4, api_base: '${upstream.base}/cut/v1', api_key: sk-x }
  - model_name: silent
    litellm_params: { model: openai/gpt-4, api_base: '${upstream.base}/silent/v1', api_key: sk-x, timeout: 0.3 }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});

async function call(model: string) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: res.status, id: res.headers.get('x-litellm-call-id'), body: (await res.json()) as { error: { type: string; message: string } } };
}

async function recorded(id: string): Promise<{ status: string; http_status: number; error_type: string }> {
  for (let i = 0; i < 100; i++) {
    const rows = (await asMaster(gw.url, 'GET', `/spend/logs?request_id=${id}`)).data;
    if (rows.length) return { status: rows[0].status, http_status: rows[0].http_status, error_type: rows[0].error_type };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no spend record for ${id}`);
}

test('an answer cut after its headers: an error in the envelope, recorded as an error', async () => {
  const r = await call('cut');
  assert.equal(r.status, 502);
  assert.match(r.body.error.message, /answer was cut/);
  assert.deepEqual(await recorded(r.id!), { status: 'error', http_status: 502, error_type: r.body.error.type });
});

test('an answer that goes silent after its headers: 408 at the timeout, recorded as an error', async () => {
  const started = Date.now();
  const r = await call('silent');
  assert.equal(r.status, 408);
  assert.equal(r.body.error.type, 'timeout_error');
  assert.ok(Date.now() - started < 5000);
  assert.deepEqual(await recorded(r.id!), { status: 'error', http_status: 408, error_type: 'timeout_error' });
});
