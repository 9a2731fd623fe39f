// Streams relayed frame by frame, and every way a stream can end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let gw: TestGateway;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(`model_list:
  - model_name: gpt-4
    litellm_params:
      model: openai/gpt-4
      api_base: ${fake.url}
  - model_name: impatient
    litellm_params:
      model: openai/gpt-4
      api_base: ${fake.url}
      timeout: 0.3
      stream_timeout: 0.3
`);
});
after(async () => {
  await gw.close();
  await fake.close();
});

/** Posts a streaming request and collects the raw SSE frames as the client receives them. */
function stream(content: string, model = 'gpt-4', extra: Record<string, unknown> = {}) {
  return new Promise<{ status: number; frames: string[]; raw: string }>((resolve, reject) => {
    const body = JSON.stringify({ model, stream: true, messages: [{ role: 'user', content }], ...extra });
    const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' } }, (res) => {
      let raw = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (raw += c));
      res.on('end', () => resolve({ status: res.statusCode!, raw, frames: raw.split('\n\n').filter(Boolean) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('N upstream frames give N client frames, ending with [DONE]', async () => {
  const r = await stream('[[chunks:40]] [[gap:2]]', 'gpt-4', { stream_options: { include_usage: true } });
  assert.equal(r.status, 200);
  // role frame + 40 content + finish + usage + [DONE]
  assert.equal(r.frames.length, 1 + 40 + 1 + 1 + 1);
  assert.equal(r.frames.at(-1), 'data: [DONE]');
});

test('without include_usage the client sees no usage at all', async () => {
  const r = await stream('[[chunks:5]]');
  assert.equal(r.frames.length, 1 + 5 + 1 + 1);
  assert.ok(!r.raw.includes('usage'));
});

test('a stream cut by the upstream ends with an error event, never a clean end', async () => {
  const r = await stream('[[chunks:10]] [[cut:3]] [[gap:5]]');
  assert.equal(r.status, 200);
  const last = r.frames.at(-1)!;
  assert.ok(!r.raw.includes('[DONE]'));
  const err = JSON.parse(last.slice('data: '.length)).error;
  assert.equal(err.type, 'api_connection_error');
  assert.equal(r.frames.length, 1 + 3 + 1);
});

test("an error frame from the provider is relayed, ends the stream and is recorded as an error", async () => {
  const r = await stream('[[stream-error]]');
  assert.ok(!r.raw.includes('[DONE]'));
  assert.match(r.frames.at(-1)!, /^data: \{"error":\{"message":"The server had an error/);
  const id = r.raw.match(/"id":"(chatcmpl-fake\d+)"/)![1];
  const logs = (await (await fetch(`${gw.url}/spend/logs?request_id=${id}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
  assert.equal(logs.data[0].status, 'error');
  assert.equal(logs.data[0].error_type, 'server_error');
});

test('a stream that stops without a finish_reason or [DONE] ends with an error event', async () => {
  const r = await stream('[[no-end]]');
  assert.match(r.frames.at(-1)!, /^data: \{"error":\{"message":"The openai stream ended before the answer was complete/);
});

test('an upstream that goes silent mid-stream is cut at stream_timeout with an error event', async () => {
  const r = await stream('[[chunks:3]] [[gap:2000]]', 'impatient');
  const err = JSON.parse(r.frames.at(-1)!.slice('data: '.length)).error;
  assert.equal(err.type, 'timeout_error');
});

test('an upstream that never answers: 408 timeout in the envelope', async () => {
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ model: 'impatient', messages: [{ role: 'user', content: '[[hang]]' }] }),
  });
  assert.equal(res.status, 408);
  assert.equal(((await res.json()) as any).error.type, 'timeout_error');
  await waitFor(() => fake.requests.at(-1)!.aborted);
});

test('a client that disconnects mid-stream aborts the upstream request', async () => {
  const before = fake.requests.length;
  await new Promise<void>((resolve, reject) => {
    const body = JSON.stringify({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content: '[[chunks:1000]] [[gap:20]] disconnect' }] });
    const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` } }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => {});
    req.end(body);
    setTimeout(() => reject(new Error('no data')), 10_000).unref();
  });
  assert.equal(fake.requests.length, before + 1);
  await waitFor(() => fake.requests.at(-1)!.aborted);
});

test('an upstream error before the first byte is a normal JSON error, not a stream', async () => {
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content: '[[status:500]]' }] }),
  });
  assert.equal(res.status, 500);
  assert.match(res.headers.get('content-type')!, /application\/json/);
  assert.equal(((await res.json()) as any).error.type, 'server_error');
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not reached');
}

test('frames are relayed as they arrive, not held back: the upstream sends the next only once the client has the last', async () => {
  // A provider that waits for the client to acknowledge each frame: a gateway that buffered or
  // coalesced frames would deadlock here.
  const { createServer } = await import('node:http');
  let ack: (() => void) | null = null;
  const upstream = createServer(async (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < 10; i++) {
      const got = new Promise<void>((r) => (ack = r));
      res.write(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"${i}"},"finish_reason":null}]}\n\n`);
      await got;
    }
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  const lockstep = await startInProcess(`model_list:\n  - model_name: m\n    litellm_params: { model: openai/m, api_base: "http://127.0.0.1:${port}/v1" }\n`);
  try {
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request(`${lockstep.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` } }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let at: number;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            got.push(buf.slice(0, at));
            buf = buf.slice(at + 2);
            ack?.();
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.end(JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    });
    assert.equal(got.length, 11);
    assert.equal(got.at(-1), 'data: [DONE]');
  } finally {
    await lockstep.close();
    upstream.close();
  }
});
