// A fake Anthropic server speaking the documented wire format of POST /v1/messages (plain and as the
// SSE event sequence), POST /v1/messages/count_tokens and GET /v1/models. It checks what the real API
// checks first (x-api-key, anthropic-version, max_tokens) and is steered by directives in the last
// user message, as the OpenAI fake is:
//   [[status:N]]      answer with Anthropic's error envelope and status N (429 and 529 as the API sends them)
//   [[retry-after:S]] add a retry-after header to an error
//   [[fixture:NAME]]  answer with test/fixtures/anthropic/message-NAME.json or stream-NAME.sse
//   [[cut:N]]         destroy the connection after N text deltas
//   [[words:N]]       answer N words (one text delta each), a millisecond apart
//   [[hang]]          never answer
//   [[call:NAME]]     call the tool NAME, with the input of [[input:JSON]] (default {}), after a short text
// Without a directive it answers a text of words (one delta per word), with a signed thinking block
// first when thinking is asked for, and usage counting whitespace-separated words.
import { readFileSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeUpstream } from './openai-upstream.ts';
import { recordingServer, type RecordedRequest } from './recording-server.ts';

const FIXTURES = new URL('../fixtures/anthropic/', import.meta.url);
export const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

const DEFAULT_ANSWER = 'Hello! I am a fake Claude and I am doing well, thank you for asking.';
export const FAKE_SIGNATURE = 'EqQBCkYIBRgCIkB1c2VkIGJ5IHRoZSBmYWtlIHVwc3RyZWFtIG9ubHkgKGJ5dGUgZm9yIGJ5dGUp';

const ERRORS: Record<number, [string, string]> = {
  400: ['invalid_request_error', 'messages: field required'],
  401: ['authentication_error', 'invalid x-api-key'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
  500: ['api_error', 'An unexpected error has occurred internal to our systems.'],
  529: ['overloaded_error', 'Overloaded'],
};

function sendError(res: ServerResponse, status: number, headers: Record<string, string> = {}, message?: string): void {
  const [type, text] = ERRORS[status] ?? ['api_error', `Error ${status}.`];
  const body = JSON.stringify({ type: 'error', error: { type, message: message ?? text }, request_id: 'req_011CFakeRequest' });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'request-id': 'req_011CFakeRequest', ...headers });
  res.end(body);
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => (typeof b?.text === 'string' ? b.text : typeof b?.content === 'string' ? b.content : '')).join(' ');
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

/** Input tokens: words of the system prompt and of every message. */
export function countInputTokens(body: Record<string, any>): number {
  let n = words(textOf(body.system));
  for (const m of Array.isArray(body.messages) ? body.messages : []) n += words(textOf(m.content));
  return n;
}

function directive(text: string, name: string): string | null {
  const m = new RegExp(`\\[\\[${name}(?::([^\\]]*))?\\]\\]`).exec(text);
  return m ? (m[1] ?? '') : null;
}

const sse = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

export async function startFakeAnthropic(opts: { apiKey?: string; answer?: string } = {}): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  let counter = 0;
  const badJson = (res: ServerResponse) => sendError(res, 400, {}, 'There was an error parsing the body of your request.');
  const server: Server = recordingServer(requests, badJson, (req, res, body) => handle(req.method ?? 'GET', (req.url ?? '').split('?')[0]!, req.headers, res, body));

  async function handle(method: string, path: string, headers: RecordedRequest['headers'], res: ServerResponse, body: Record<string, any>): Promise<void> {
    if (opts.apiKey && headers['x-api-key'] !== opts.apiKey) return sendError(res, 401);
    if (!headers['anthropic-version']) return sendError(res, 400, {}, 'anthropic-version: header is required');
    if (method === 'GET' && path === '/v1/models') {
      const out = JSON.stringify({ data: [{ type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' }], has_more: false, first_id: null, last_id: null });
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(out);
    }
    if (path === '/v1/messages/count_tokens') {
      if ('max_tokens' in body) return sendError(res, 400, {}, 'max_tokens: Extra inputs are not permitted');
      const out = JSON.stringify({ input_tokens: countInputTokens(body) });
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(out);
    }
    if (path !== '/v1/messages') return sendError(res, 404);
    if (typeof body.max_tokens !== 'number') return sendError(res, 400, {}, 'max_tokens: Field required');
    const messages = Array.isArray(body.messages) ? body.messages : [];
    const text = textOf(messages[messages.length - 1]?.content);
    if (directive(text, 'hang') !== null) return;
    const retryAfter = directive(text, 'retry-after');
    const status = directive(text, 'status');
    if (status) return sendError(res, Number(status), retryAfter !== null ? { 'retry-after': retryAfter } : {});

    const toolName = directive(text, 'call');
    if (toolName) return callTool(res, body, toolName, directive(text, 'input') ?? '{}');

    const name = directive(text, 'fixture');
    if (name) {
      const stream = body.stream === true;
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream; charset=utf-8' : 'application/json', 'request-id': 'req_011CFixture' });
      return void res.end(fixture(stream ? `stream-${name}.sse` : `message-${name}.json`));
    }

    const id = `msg_01Fake${String(++counter).padStart(6, '0')}`;
    const model = String(body.model);
    let answer = (opts.answer ?? DEFAULT_ANSWER).split(' ');
    const wanted = directive(text, 'words');
    if (wanted) answer = Array.from({ length: Number(wanted) }, (_, i) => answer[i % answer.length]!);
    let stop = 'end_turn';
    if (answer.length > body.max_tokens) {
      answer = answer.slice(0, body.max_tokens);
      stop = 'max_tokens';
    }
    const thinking = body.thinking && body.thinking.type !== 'disabled' ? 'Thinking about it.' : null;
    const input = countInputTokens(body);
    const output = answer.length + (thinking ? words(thinking) : 0);
    const inputUsage = { input_tokens: input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 } };

    if (body.stream !== true) {
      const content: Record<string, unknown>[] = [];
      if (thinking) content.push({ type: 'thinking', thinking, signature: FAKE_SIGNATURE });
      content.push({ type: 'text', text: answer.join(' ') });
      const out = JSON.stringify({ id, type: 'message', role: 'assistant', model, content, stop_reason: stop, stop_sequence: null, usage: { ...inputUsage, output_tokens: output, service_tier: 'standard' } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'request-id': `req_011C${counter}` });
      return void res.end(out);
    }

    const cut = directive(text, 'cut');
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_011C${counter}` });
    res.write(sse('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...inputUsage, output_tokens: 1, service_tier: 'standard' } } }));
    let index = 0;
    if (thinking) {
      res.write(sse('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
      res.write(sse('content_block_delta', { index, delta: { type: 'thinking_delta', thinking } }));
      res.write(sse('content_block_delta', { index, delta: { type: 'signature_delta', signature: FAKE_SIGNATURE } }));
      res.write(sse('content_block_stop', { index }));
      index++;
    }
    res.write(sse('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    res.write(sse('ping', {}));
    for (let i = 0; i < answer.length; i++) {
      if (wanted) await new Promise((r) => setTimeout(r, 1));
      if (res.destroyed) return;
      if (cut !== null && i === Number(cut)) {
        // Let what was written reach the client first, as a connection lost midway would.
        await new Promise((r) => setTimeout(r, 50));
        return void res.destroy();
      }
      res.write(sse('content_block_delta', { index, delta: { type: 'text_delta', text: i === 0 ? answer[i] : ` ${answer[i]}` } }));
    }
    res.write(sse('content_block_stop', { index }));
    res.write(sse('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { ...inputUsage, output_tokens: output } }));
    res.end(sse('message_stop', {}));
  }

  /** A text block, then a tool_use of the named tool (its input streamed in two pieces). */
  function callTool(res: ServerResponse, body: Record<string, any>, toolName: string, input: string): void {
    const id = `msg_01FakeTool${String(++counter).padStart(6, '0')}`;
    const toolId = `toolu_01Fake${String(counter).padStart(6, '0')}`;
    const usage = { input_tokens: countInputTokens(body), cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const intro = 'Let me do that.';
    if (body.stream !== true) {
      const out = JSON.stringify({ id, type: 'message', role: 'assistant', model: String(body.model), content: [{ type: 'text', text: intro }, { type: 'tool_use', id: toolId, name: toolName, input: JSON.parse(input) }], stop_reason: 'tool_use', stop_sequence: null, usage: { ...usage, output_tokens: 10 } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      return void res.end(out);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    res.write(sse('message_start', { message: { id, type: 'message', role: 'assistant', model: String(body.model), content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }));
    res.write(sse('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    res.write(sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: intro } }));
    res.write(sse('content_block_stop', { index: 0 }));
    res.write(sse('content_block_start', { index: 1, content_block: { type: 'tool_use', id: toolId, name: toolName, input: {} } }));
    const half = Math.floor(input.length / 2);
    for (const part of [input.slice(0, half), input.slice(half)]) res.write(sse('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: part } }));
    res.write(sse('content_block_stop', { index: 1 }));
    res.write(sse('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { ...usage, output_tokens: 10 } }));
    res.end(sse('message_stop', {}));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
