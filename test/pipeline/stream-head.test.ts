// A stream's head reaches the client with its first frame, not before: until the upstream's first bytes
// are here, a failure is the attempt's (retried, or fallen back from, the client none the wiser); a head
// that arrives together with every frame is relayed with all of them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { startRawUpstream, type RawUpstream } from '../helpers/upstream.ts';

const FRAME = (content: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-head', object: 'chat.completion.chunk', created: 0, model: 'gpt-4', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
let upstream: RawUpstream;
let gw: TestGateway;

before(async () => {
  // /slow/: the head at once, the first token 600 ms later; /fast/: head and every frame together.
  upstream = await startRawUpstream((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const rest = () => res.end(FRAME('Hi') + FRAME('', 'stop') + 'data: [DONE]\n\n');
    if (req.url!.startsWith('/slow/')) {
      res.flushHeaders();
      setTimeout(rest, 600);
    } else rest();
  });
  gw = await startInProcess(`model_list:
  - model_name: slow
    litellm_params: { model: openai/gpt-4, api_base: '${upstream.base}/slow/v1', api_key: sk-x }
  - model_name: fast
    litellm_params: { model: openai/gpt-4, api_base: '${upstream.base}/fast/v1', api_key: sk-x }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});

/** When the response head and the first body bytes arrived (ms after sending), and the body. */
function timed(model: string): Promise<{ status: number; headAt: number; firstAt: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' } }, (res) => {
      const headAt = performance.now() - sent;
      let firstAt = -1;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (firstAt < 0) firstAt = performance.now() - sent;
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headAt, firstAt, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }));
  });
}

test('the head is relayed with the first frame, however slow (a failure before it can still be failed over)', async () => {
  const r = await timed('slow');
  assert.equal(r.status, 200);
  assert.ok(r.headAt >= 550, `head after ${r.headAt.toFixed(0)} ms, the first token after 600`);
  assert.ok(r.firstAt - r.headAt < 50, `first bytes ${(r.firstAt - r.headAt).toFixed(0)} ms after the head`);
  assert.match(r.body, /"content":"Hi"/);
});

test('a head and frames that arrive together are all relayed', async () => {
  const r = await timed('fast');
  assert.equal(r.status, 200);
  assert.equal(r.body.split('\n\n').filter(Boolean).length, 3);
  assert.match(r.body, /data: \[DONE\]/);
});
