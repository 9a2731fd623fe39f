// A fake Cohere speaking its documented v2 wire format: POST /v2/chat (plain, and streamed as SSE
// frames of `event:` and `data:` lines with Cohere's own events, ending with message-end and no
// [DONE]), POST /v2/embed, POST /v2/rerank and GET /v1/models, with the key as a bearer token and
// errors as {"message"} with their status. Usage counts whitespace-separated words as billed_units,
// and `tokens` 100 more on the input side (Cohere's prompt template, which it does not bill).
// Directives in the last user text:
//   [[status:N]]     Cohere's error for status N
//   [[tool-call]]    call the first tool with {"city":"Paris"}, after a tool plan
//   [[reasoning]]    a thinking content block first
//   [[error-finish]] finish_reason ERROR
//   [[cut:N]]        destroy the connection after N events of a stream
// A rerank query with [[units:X]] is billed X search units ("none": no billed_units).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordingServer, type RecordedRequest } from './recording-server.ts';
import type { FakeUpstream } from './openai-upstream.ts';

const DEFAULT_ANSWER = 'Hello from the fake Cohere Command model.';
const TEMPLATE_TOKENS = 100;

const MESSAGES: Record<number, string> = {
  400: 'invalid request: message must be at least 1 token long or tool results must be specified.',
  401: 'invalid api token',
  404: "model 'command-x' not found, make sure the correct model ID was used and that you have access to the model.",
  429: 'You are past the per minute request limit, please wait and try again later.',
  500: 'internal server error, this has been reported to our developers.',
};

function sendError(res: ServerResponse, status: number, message?: string): void {
  const body = JSON.stringify({ id: 'a1b2c3d4-fake', message: message ?? MESSAGES[status] ?? `error ${status}` });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  return Array.isArray(content) ? content.map((c) => (typeof c?.text === 'string' ? c.text : '')).join(' ') : '';
}

function directive(text: string, name: string): string | null {
  const m = new RegExp(`\\[\\[${name}(?::([^\\]]*))?\\]\\]`).exec(text);
  return m ? (m[1] ?? '') : null;
}

const event = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;

export async function startFakeCohere(opts: { apiKey?: string } = {}): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  let counter = 0;
  const server: Server = recordingServer(requests, (res) => sendError(res, 400, 'invalid request: json: cannot unmarshal'), (req, res, body) => handle(req, res, body));

  async function handle(req: IncomingMessage, res: ServerResponse, body: Record<string, any>): Promise<void> {
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) return sendError(res, 401);
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method === 'GET' && path === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ models: [{ name: 'command-a-03-2025', endpoints: ['chat'] }], next_page_token: null }));
    }
    if (path === '/v2/embed') return embed(res, body);
    if (path === '/v2/rerank') return rerank(res, body);
    if (path !== '/v2/chat') return sendError(res, 404, 'route not found');
    if (typeof body.model !== 'string' || !Array.isArray(body.messages)) return sendError(res, 400, 'invalid request: model and messages are required.');
    for (const k of ['top_p', 'top_k', 'stop', 'max_completion_tokens', 'tool_choice_auto', 'stream_options', 'n']) {
      if (k in body) return sendError(res, 400, `invalid request: unknown field: parameter ${k} is not a valid field`);
    }
    if (body.tool_choice !== undefined && body.tool_choice !== 'REQUIRED' && body.tool_choice !== 'NONE') return sendError(res, 400, 'invalid request: tool_choice must be one of REQUIRED, NONE');
    const last = body.messages.at(-1);
    const text = textOf(last?.content);
    const status = directive(text, 'status');
    if (status) return sendError(res, Number(status));

    const id = `c0h3r3-${String(++counter).padStart(4, '0')}`;
    const answer = DEFAULT_ANSWER;
    const thinking = directive(text, 'reasoning') !== null || body.thinking?.type === 'enabled' ? 'The user wants a greeting.' : null;
    const tool = directive(text, 'tool-call') !== null ? body.tools?.[0]?.function : null;
    const plan = tool ? 'I will look up the weather.' : null;
    let finish = tool ? 'TOOL_CALL' : directive(text, 'error-finish') !== null ? 'ERROR' : 'COMPLETE';
    let input = 0;
    for (const m of body.messages) input += words(textOf(m.content));
    const output = (tool ? words(plan!) + 3 : words(answer)) + (thinking ? words(thinking) : 0);
    if (typeof body.max_tokens === 'number' && output > body.max_tokens) finish = 'MAX_TOKENS';
    const usage = { billed_units: { input_tokens: input, output_tokens: output }, tokens: { input_tokens: input + TEMPLATE_TOKENS, output_tokens: output } };
    const call = tool ? { id: `${tool.name}_fake01`, type: 'function', function: { name: tool.name, arguments: '{"city":"Paris"}' } } : null;

    if (body.stream !== true) {
      const content: Record<string, unknown>[] = [];
      if (thinking) content.push({ type: 'thinking', thinking });
      if (!tool) content.push({ type: 'text', text: answer });
      const message: Record<string, unknown> = { role: 'assistant', content };
      if (tool) Object.assign(message, { tool_plan: plan, tool_calls: [call] });
      const out = JSON.stringify({ id, finish_reason: finish, message, usage });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      return void res.end(out);
    }
    const events: string[] = [event({ type: 'message-start', id, delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } })];
    let index = 0;
    if (thinking) {
      events.push(event({ type: 'content-start', index, delta: { message: { content: { type: 'thinking', thinking: '' } } } }));
      events.push(event({ type: 'content-delta', index, delta: { message: { content: { thinking } } } }));
      events.push(event({ type: 'content-end', index }));
      index++;
    }
    if (tool) {
      for (const w of plan!.split(/(?= )/)) events.push(event({ type: 'tool-plan-delta', delta: { message: { tool_plan: w } } }));
      events.push(event({ type: 'tool-call-start', index: 0, delta: { message: { tool_calls: { id: call!.id, type: 'function', function: { name: tool.name, arguments: '' } } } } }));
      for (const part of ['{"city"', ':"Paris"}']) events.push(event({ type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: part } } } } }));
      events.push(event({ type: 'tool-call-end', index: 0 }));
    } else {
      events.push(event({ type: 'content-start', index, delta: { message: { content: { type: 'text', text: '' } } } }));
      for (const w of answer.split(/(?= )/)) events.push(event({ type: 'content-delta', index, delta: { message: { content: { text: w } } } }));
      events.push(event({ type: 'content-end', index }));
    }
    events.push(event({ type: 'message-end', id, delta: { finish_reason: finish, ...(finish === 'ERROR' ? { error: 'internal model failure' } : {}), usage } }));
    const cut = directive(text, 'cut');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const [i, e] of events.entries()) {
      if (cut !== null && i === Number(cut)) {
        await new Promise((r) => setTimeout(r, 30));
        return void res.destroy();
      }
      res.write(e);
    }
    res.end();
  }

  function embed(res: ServerResponse, body: Record<string, any>): void {
    if (!Array.isArray(body.texts) || typeof body.input_type !== 'string') return sendError(res, 400, 'invalid request: valid input_type must be provided with the provided model');
    if (body.texts.length > 96) return sendError(res, 400, 'invalid request: texts must be at most 96 items');
    const n = body.output_dimension ?? 4;
    const vectors = body.texts.map((t: string) => Array.from({ length: n }, (_, i) => Number(((t.length + i) / 100).toFixed(2))));
    const billed = body.texts.reduce((s: number, t: string) => s + words(t), 0);
    const out = JSON.stringify({ id: `emb-${++counter}`, response_type: 'embeddings_by_type', embeddings: { float: vectors }, texts: body.texts, meta: { api_version: { version: '2' }, billed_units: { input_tokens: billed } } });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(out);
  }

  function rerank(res: ServerResponse, body: Record<string, any>): void {
    if (typeof body.query !== 'string' || !Array.isArray(body.documents)) return sendError(res, 400, 'invalid request: query and documents are required.');
    if (body.documents.some((d: unknown) => typeof d !== 'string')) return sendError(res, 400, 'invalid request: documents must be strings.');
    const q = new Set(body.query.toLowerCase().split(/\W+/).filter(Boolean));
    const scored = body.documents.map((d: string, index: number) => {
      const w = d.toLowerCase().split(/\W+/).filter(Boolean);
      const hits = w.filter((x) => q.has(x)).length;
      return { index, relevance_score: Number((hits / Math.max(1, w.length)).toFixed(6)) };
    });
    scored.sort((a: { relevance_score: number }, b: { relevance_score: number }) => b.relevance_score - a.relevance_score);
    const results = typeof body.top_n === 'number' ? scored.slice(0, body.top_n) : scored;
    // A search unit is a query with up to 100 documents.
    const asked = directive(body.query, 'units');
    const units = asked !== null ? (asked === 'none' ? undefined : Number(asked)) : Math.max(1, Math.ceil(body.documents.length / 100));
    const out = JSON.stringify({ id: `rr-${++counter}`, results, meta: { api_version: { version: '2', is_experimental: false }, ...(units === undefined ? {} : { billed_units: { search_units: units } }) } });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(out);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
