// A client slower than its provider: the gateway stops reading the upstream stream while the client
// is behind (memory stays bounded), then relays every frame, in order, once the client reads again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { startRawUpstream, writeOpenAIStream, type RawUpstream } from '../helpers/upstream.ts';

const FRAMES = 4000;
const CONTENT = 'x'.repeat(16 * 1024);
let upstream: RawUpstream;
let gw: TestGateway;
let written = 0;

before(async () => {
  // OpenAI's stream format, written as fast as the connection takes it.
  upstream = await startRawUpstream((_req, res) => writeOpenAIStream(res, FRAMES, CONTENT, () => written++));
  gw = await startInProcess(`model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: '${upstream.base}/v1', api_key: sk-x }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});

test('a client that stops reading pauses the upstream; every frame arrives once it reads again', async () => {
  const body = JSON.stringify({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content: 'a long answer' }] });
  const raw = await new Promise<string>((resolve, reject) => {
    const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` } }, (res) => {
      res.pause();
      setTimeout(() => {
        // 64 MB were on offer; socket buffers hold a few.
        if (written >= FRAMES / 2) {
          req.destroy();
          reject(new Error(`the upstream wrote ${written} of ${FRAMES} frames while the client read nothing`));
          return;
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
        res.resume();
      }, 500);
    });
    req.on('error', reject);
    req.end(body);
  });
  const frames = raw.split('\n\n').filter(Boolean);
  assert.equal(frames.filter((f) => f.includes(CONTENT)).length, FRAMES);
  assert.equal(frames.at(-1), 'data: [DONE]');
});
