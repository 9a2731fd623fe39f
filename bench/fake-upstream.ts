// The benchmark's provider: an OpenAI-format chat server built to never be the bottleneck
// (answers prepared once, no JSON parsing). Its behaviour comes from the URL path, so one process
// serves every scenario: /f/<latencyMs>/<chunks>/<gapMs>/<contentBytes>/v1/chat/completions
// (plain /v1/chat/completions = /f/0/16/0/64). `"stream":true` in the body selects SSE. It also answers
// as Gemini at /v1beta/models/<model>:generateContent and :streamGenerateContent (16 chunks of 64
// bytes in all), for the cost of translating, and as OpenAI's Responses API at any .../v1/responses
// (16 text deltas of 4 bytes, the reference's event sequence).
// Run: node bench/fake-upstream.ts [--port N]; prints "fake-upstream listening on PORT".
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

interface Shape {
  latency: number;
  chunks: number;
  gap: number;
  size: number;
}

const STREAM = Buffer.from('"stream":true');
const STREAM_SPACED = Buffer.from('"stream": true');
const cache = new Map<string, { whole: Buffer; frames: Buffer[] }>();

function shapeOf(url: string): Shape {
  const m = /^\/f\/(\d+)\/(\d+)\/(\d+)\/(\d+)\//.exec(url);
  return m ? { latency: +m[1]!, chunks: +m[2]!, gap: +m[3]!, size: +m[4]! } : { latency: 0, chunks: 16, gap: 0, size: 64 };
}

function answers(s: Shape): { whole: Buffer; frames: Buffer[] } {
  const key = `${s.chunks}/${s.size}`;
  let a = cache.get(key);
  if (a) return a;
  const content = 'x'.repeat(s.size);
  const usage = { prompt_tokens: 10, completion_tokens: s.chunks, total_tokens: 10 + s.chunks };
  const base = { id: 'chatcmpl-bench', created: 1700000000, model: 'bench', system_fingerprint: 'fp_bench' };
  const whole = Buffer.from(
    JSON.stringify({
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage,
    }),
  );
  const piece = 'x'.repeat(Math.max(1, Math.floor(s.size / Math.max(1, s.chunks))));
  const frame = (o: object) => Buffer.from(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...o })}\n\n`);
  const frames = [frame({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], usage: null })];
  for (let i = 0; i < s.chunks; i++) frames.push(frame({ choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }], usage: null }));
  // The finish chunk, the usage chunk and [DONE] leave together, as OpenAI sends them.
  frames.push(
    Buffer.concat([
      frame({ choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null }),
      frame({ choices: [], usage }),
      Buffer.from('data: [DONE]\n\n'),
    ]),
  );
  a = { whole, frames };
  cache.set(key, a);
  return a;
}

/** Gemini's answer to every call, whole and as 16 SSE frames (\r\n-separated, as Google's are). */
const gemini = (() => {
  const base = { modelVersion: 'bench', responseId: 'benchResp' };
  const usage = { promptTokenCount: 10, candidatesTokenCount: 16, totalTokenCount: 26 };
  const whole = Buffer.from(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'x'.repeat(64) }] }, finishReason: 'STOP', index: 0 }], usageMetadata: usage, ...base }));
  const frames: Buffer[] = [];
  for (let i = 0; i < 16; i++) {
    const last = i === 15;
    const candidate = { content: { role: 'model', parts: [{ text: 'xxxx' }] }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) };
    frames.push(Buffer.from(`data: ${JSON.stringify({ candidates: [candidate], usageMetadata: last ? usage : { promptTokenCount: 10, totalTokenCount: 10 }, ...base })}\r\n\r\n`));
  }
  return { whole, frames };
})();

/** OpenAI's Responses API answer to every call, whole and as its event sequence (16 deltas). */
const responses = (() => {
  const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 26 };
  const message = { type: 'message', id: 'msg_bench', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'x'.repeat(64), annotations: [], logprobs: [] }] };
  const response = (status: string, output: unknown[], u: unknown) => ({ id: 'resp_bench', object: 'response', created_at: 1700000000, status, error: null, incomplete_details: null, model: 'bench', output, parallel_tool_calls: true, tool_choice: 'auto', tools: [], usage: u });
  let seq = 0;
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`;
  const frames = [ev('response.created', { response: response('in_progress', [], null) }), ev('response.in_progress', { response: response('in_progress', [], null) })];
  frames.push(ev('response.output_item.added', { output_index: 0, item: { ...message, status: 'in_progress', content: [] } }) + ev('response.content_part.added', { item_id: 'msg_bench', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
  for (let i = 0; i < 16; i++) frames.push(ev('response.output_text.delta', { item_id: 'msg_bench', output_index: 0, content_index: 0, delta: 'xxxx', logprobs: [] }));
  frames.push(
    ev('response.output_text.done', { item_id: 'msg_bench', output_index: 0, content_index: 0, text: 'x'.repeat(64), logprobs: [] }) +
      ev('response.content_part.done', { item_id: 'msg_bench', output_index: 0, content_index: 0, part: message.content[0] }) +
      ev('response.output_item.done', { output_index: 0, item: message }) +
      ev('response.completed', { response: response('completed', [message], usage) }),
  );
  return { whole: Buffer.from(JSON.stringify(response('completed', [message], usage))), frames: frames.map((f) => Buffer.from(f)) };
})();

/** Milliseconds on a clock shared by the processes of this machine (up to a constant offset each). */
const clock = () => performance.timeOrigin + performance.now();

/**
 * The first content frame carries `x_bench: [request received, frame sent]` on this process's clock,
 * so that the client can tell the time spent outside this server from the lateness of its own timers.
 */
function stamped(frame: Buffer, received: number): Buffer {
  return Buffer.from(frame.toString('latin1').replace('"object":', `"x_bench":[${received},${clock()}],"object":`), 'latin1');
}

function streamOut(res: ServerResponse, frames: Buffer[], gap: number, received: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  if (gap === 0) {
    for (const [i, f] of frames.entries()) res.write(i === 1 ? stamped(f, received) : f);
    res.end();
    return;
  }
  let i = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write(i === 1 ? stamped(frames[i++]!, received) : frames[i++]);
    if (i === frames.length) {
      clearInterval(timer);
      res.end();
    }
  }, gap);
}

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    const received = clock();
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (req.url?.startsWith('/v1beta/models/')) {
      if (req.url.includes(':streamGenerateContent')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const f of gemini.frames) res.write(f);
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': gemini.whole.length });
      return void res.end(gemini.whole);
    }
    if (req.url?.endsWith('/v1/responses')) {
      if (body.indexOf(STREAM) >= 0 || body.indexOf(STREAM_SPACED) >= 0) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const f of responses.frames) res.write(f);
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': responses.whole.length });
      return void res.end(responses.whole);
    }
    const s = shapeOf(req.url ?? '');
    const a = answers(s);
    const stream = body.indexOf(STREAM) >= 0 || body.indexOf(STREAM_SPACED) >= 0;
    const send = () => {
      if (stream) return streamOut(res, a.frames, s.gap, received);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': a.whole.length });
      res.end(a.whole);
    };
    if (s.latency > 0) setTimeout(send, s.latency);
    else send();
  });
});
server.keepAliveTimeout = 120_000;

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`fake-upstream listening on ${(server.address() as AddressInfo).port}`);
});
