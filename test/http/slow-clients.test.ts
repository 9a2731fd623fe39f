// Slow and silent clients (slowloris) do not stop others being served: 2,000 connections that send
// nothing, 50 that send their headers a line at a time, and one that reads a long stream and then
// stops reading are all held while ordinary calls are answered at once; the server then cuts the
// silent and the slow-header ones on its header clock (a 408), keeps an idle keep-alive connection
// that outlives that clock, and relays the paused stream whole once it is read again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { startRawUpstream, writeOpenAIStream, type RawUpstream } from '../helpers/upstream.ts';
import { CLIENT_TIMEOUTS } from '../../src/http/server.ts';

const IDLE = 2000;
const SLOWLORIS = 50;
const STREAM_FRAMES = 2000;
let upstream: RawUpstream;
let gw: TestGateway;
let port: number;

before(async () => {
  upstream = await startRawUpstream((req, res) => {
    if (req.url?.startsWith('/long/')) return writeOpenAIStream(res, STREAM_FRAMES, 'y'.repeat(4096));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'chatcmpl-p', object: 'chat.completion', created: 0, model: 'gpt-4', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
  });
  gw = await startInProcess(`model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: '${upstream.base}/v1', api_key: sk-x }
  - model_name: long
    litellm_params: { model: openai/gpt-4, api_base: '${upstream.base}/long/v1', api_key: sk-x }
`);
  port = Number(new URL(gw.url).port);
});
after(async () => {
  await gw.close();
  await upstream.close();
});

/** A raw connection that records what the server sent and when the server closed it. */
function open(): { socket: Socket; got: () => string; openedAt: number; closedAt: Promise<number> } {
  const openedAt = performance.now();
  const socket = connect(port, '127.0.0.1');
  let got = '';
  socket.setEncoding('latin1').on('data', (d) => (got += d));
  socket.on('error', () => {});
  const closedAt = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  return { socket, got: () => got, openedAt, closedAt };
}

async function chat(): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }] }),
  });
  await res.text();
  return { status: res.status, ms: performance.now() - t0 };
}

test('silent, slow-header and slow-reading clients do not stop others; the header clock cuts the first two, not idle keep-alive', async () => {
  const rss0 = process.memoryUsage().rss;
  // Opened 250 at a time, each batch accepted before the next: 2,000 at once overflow the listen
  // backlog, and the kernel then leaves some established for the client but never handed to the server.
  const held: ReturnType<typeof open>[] = [];
  const connections = () => new Promise<number>((resolve, reject) => gw.app.server.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  while (held.length < IDLE + SLOWLORIS) {
    const batch = Array.from({ length: Math.min(250, IDLE + SLOWLORIS - held.length) }, open);
    held.push(...batch);
    for (let i = 0; i < 200 && (await connections()) < held.length; i++) await sleep(10);
  }
  const slow = held.slice(IDLE);
  for (const s of slow) s.socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n');
  const drip = setInterval(() => {
    for (const s of slow) if (s.socket.writable) s.socket.write(`X-Drip-${Math.random().toString(36).slice(2, 8)}: 1\r\n`);
  }, 500);

  // A keep-alive connection: one call now, the next after longer than the header clock.
  const keepAlive = open();
  const get = 'GET /health/liveliness HTTP/1.1\r\nHost: gw\r\n\r\n';
  keepAlive.socket.write(get);
  // One that is answered once, then starts a second request and never finishes its headers.
  const reused = open();
  reused.socket.write(get);
  for (let i = 0; i < 100 && !reused.got().includes('\r\n\r\n'); i++) await sleep(10);
  reused.socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n');

  // A client that reads the start of a long stream, then stops reading.
  let streamText = '';
  let streamEnded = false;
  let pausedRes: IncomingMessage | undefined;
  const streamReq = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' } }, (res) => {
    pausedRes = res;
    res.setEncoding('utf8');
    res.once('data', (c) => {
      streamText += c;
      res.pause();
    });
  });
  streamReq.on('error', () => {});
  streamReq.end(JSON.stringify({ model: 'long', stream: true, messages: [{ role: 'user', content: 'long' }] }));

  try {
    await sleep(500);
    // Meanwhile ordinary calls are answered at once, one after the other and 20 at a time.
    const serial = [];
    for (let i = 0; i < 20; i++) serial.push(await chat());
    const parallel = await Promise.all(Array.from({ length: 20 }, () => chat()));
    for (const r of [...serial, ...parallel]) assert.equal(r.status, 200);
    const worst = Math.max(...[...serial, ...parallel].map((r) => r.ms));
    assert.ok(worst < 1000, `an ordinary call took ${Math.round(worst)} ms among the held connections`);
    const grownMb = (process.memoryUsage().rss - rss0) / 1048576;
    assert.ok(grownMb < 200, `client and server together grew by ${Math.round(grownMb)} MB for ${IDLE + SLOWLORIS} held connections`);

    // The header clock (plus the interval at which Node checks it) cuts the silent and the slow.
    const bound = CLIENT_TIMEOUTS.headersMs + CLIENT_TIMEOUTS.checkEveryMs + 3000;
    const cut = await Promise.race([
      Promise.all(held.map((c) => c.closedAt)),
      sleep(bound).then(() => null),
    ]);
    const stillOpen = held.filter((c) => !c.socket.destroyed).length;
    assert.ok(cut, `${stillOpen} held connections were still open ${bound} ms after the calls (the header clock plus its check, and 3 s)`);
    const soonest = Math.min(...cut.map((at, i) => at - held[i]!.openedAt));
    assert.ok(soonest >= CLIENT_TIMEOUTS.headersMs - 500, `a held connection was cut after ${Math.round(soonest)} ms, before the header clock`);
    for (const s of slow) {
      assert.match(s.got(), /^HTTP\/1\.1 408 /, 'a slow-header client is answered 408');
      const body = JSON.parse(s.got().slice(s.got().indexOf('\r\n\r\n') + 4));
      assert.deepEqual([body.error.code, body.error.type], ['408', 'timeout_error']);
      assert.match(body.error.message, /headers within 10 s/);
    }

    await reused.closedAt;
    assert.match(reused.got(), /^HTTP\/1\.1 200 [^]*HTTP\/1\.1 408 /, 'a slow second request on a kept-alive connection is answered 408 too');

    // The keep-alive connection, idle for longer than the header clock, still serves.
    assert.match(keepAlive.got(), /^HTTP\/1\.1 200 /);
    const before = keepAlive.got().length;
    keepAlive.socket.write(get);
    for (let i = 0; i < 50 && keepAlive.got().length === before; i++) await sleep(20);
    assert.match(keepAlive.got().slice(before), /^HTTP\/1\.1 200 /, 'an idle keep-alive connection is not cut by the header clock');

    // The paused stream was held, not cut, and arrives whole once it is read again.
    assert.ok(pausedRes, 'the stream started');
    assert.ok(!streamEnded);
    const done = new Promise<void>((resolve) => pausedRes!.on('end', () => ((streamEnded = true), resolve())));
    pausedRes!.on('data', (c) => (streamText += c));
    pausedRes!.resume();
    await done;
    assert.equal(streamText.match(/"content":"y+"/g)?.length, STREAM_FRAMES);
    assert.ok(streamText.trimEnd().endsWith('data: [DONE]'));
    assert.equal((await chat()).status, 200);
  } finally {
    clearInterval(drip);
    for (const c of [...held, keepAlive, reused]) c.socket.destroy();
    streamReq.destroy();
  }
});

/** Sends raw bytes on a new connection and reads what comes back until the server closes it. */
async function raw(bytes: string): Promise<{ status: number; body: any }> {
  const c = open();
  c.socket.write(bytes);
  await c.closedAt;
  const text = c.got();
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) };
}

test('headers over the limit and bytes that are not HTTP are refused in the OpenAI envelope, and the server serves on', async () => {
  const big = await raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.equal(big.status, 431);
  assert.deepEqual([big.body.error.code, big.body.error.type], ['431', 'bad_request_error']);
  const garbage = await raw('\x16\x03\x01\x02\x00 not http at all\r\n\r\n');
  assert.equal(garbage.status, 400);
  assert.deepEqual([garbage.body.error.code, garbage.body.error.type], ['400', 'bad_request_error']);
  assert.match(garbage.body.error.message, /not valid HTTP\/1\.1/);
  assert.equal((await chat()).status, 200);
});
