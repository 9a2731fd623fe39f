// A fake OpenAI-compatible server speaking the documented wire format of
// POST /v1/chat/completions (plain and SSE, with stream_options.include_usage), POST /v1/embeddings and
// POST /v1/responses (OpenAI's Responses API: the Response object, or its event sequence with sequence
// numbers; [[tool-call]], [[chunks:N]], [[cut:N]], [[status:N]] and [[fail]] (response.failed) apply), and
// POST /v1/completions (the legacy text completion, plain and SSE).
// Behaviour is steered by directives in the last message, e.g. "[[status:429]] [[retry-after:0]]":
//   [[status:N]]      answer with an OpenAI error envelope and status N
//   [[fail-once:N]]   answer N the first time this exact content is seen (by any fake), then normally
//   [[retry-after:S]] add a retry-after header to an error
//   [[reset:D]]       add OpenAI's rate-limit headers to an error: no requests left, reset in D (Go duration, "1s")
//   [[context-window]] answer OpenAI's 400 for a prompt over the model's context length
//   [[delay:MS]]      wait before the response head
//   [[hang]]          never answer (until the client goes away)
//   [[chunks:N]]      stream N content chunks (default: one per word of the answer)
//   [[gap:MS]]        wait between stream chunks
//   [[cut:N]]         destroy the connection after N content chunks
//   [[no-usage]]      send no usage at all
//   [[tool-call]]     call the first tool of the request with {"path":"README.md"} (arguments streamed in two pieces)
//   [[reasoning]]     send reasoning_content before the answer, as DeepSeek and vLLM do
//   [[stream-error]]  after two content chunks, send an error frame and end (as OpenAI does on a server error)
//   [[no-end]]        end the stream after the content, without a finish_reason or [DONE]
// GET /v1/models answers a model list (the gateway's /health checks it).
// Every request is recorded, with whether the client went away before the answer ended.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordingServer, type RecordedRequest } from './recording-server.ts';

export type { RecordedRequest };

export interface FakeUpstream {
  /** Base URL including /v1, as api_base takes it. */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface FakeOptions {
  /** Bearer token the fake requires (401 otherwise); unset accepts anything. */
  apiKey?: string;
  /**
   * Azure OpenAI's key, in its `api-key` header: the fake then also answers at Azure's addresses,
   * /openai/deployments/{deployment}/... (with an api-version) and /openai/v1/..., and nowhere else.
   */
  azureKey?: string;
  /** A Microsoft Entra ID token the Azure fake accepts instead, as a bearer token. */
  azureToken?: string;
  /** Words of the default answer. */
  answer?: string;
  port?: number;
  /**
   * Mistral's way: stream_options is refused (422, extra_forbidden) and the usage comes unasked on the
   * finish chunk.
   */
  mistral?: boolean;
}

const DEFAULT_ANSWER = 'Hello! I am a fake model and I am doing well, thank you for asking.';

/** Whitespace-separated words of every message's text: the fake's token count. */
export function countPromptTokens(messages: unknown): number {
  let n = 0;
  for (const m of Array.isArray(messages) ? messages : []) {
    const c = (m as { content?: unknown }).content;
    const text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => (p as { text?: string }).text ?? '').join(' ') : '';
    n += text.split(/\s+/).filter(Boolean).length;
  }
  return n;
}

function lastText(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0) return '';
  const c = (messages[messages.length - 1] as { content?: unknown }).content;
  return typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => (p as { text?: string }).text ?? '').join(' ') : '';
}

function directive(text: string, name: string): string | null {
  const m = new RegExp(`\\[\\[${name}(?::([^\\]]*))?\\]\\]`).exec(text);
  return m ? (m[1] ?? '') : null;
}

function sendError(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  const kinds: Record<number, [string, string | null, string]> = {
    400: ['invalid_request_error', null, 'Invalid request.'],
    401: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.'],
    404: ['invalid_request_error', 'model_not_found', 'The model does not exist or you do not have access to it.'],
    429: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests.'],
    500: ['server_error', null, 'The server had an error while processing your request.'],
    503: ['server_error', null, 'The engine is currently overloaded, please try again later.'],
  };
  const [type, code, message] = kinds[status] ?? ['server_error', null, `Error ${status}.`];
  const body = JSON.stringify({ error: { message, type, param: null, code } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Contents already failed by [[fail-once]], shared by every fake of the process (a retry may go to another). */
const seen = new Set<string>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A function call's arguments, streamed in two pieces. */
const ARGS_PARTS = ['{"path":', '"README.md"}'];

export async function startFakeOpenAI(opts: FakeOptions = {}): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  let counter = 0;

  const server: Server = recordingServer(requests, (res) => sendError(res, 400), (req, res, body) => handle(req, res, body));

  async function handle(req: IncomingMessage, res: ServerResponse, body: Record<string, any>): Promise<void> {
    let path = (req.url ?? '').split('?')[0]!;
    if (opts.azureKey) {
      const entra = opts.azureToken !== undefined && req.headers.authorization === `Bearer ${opts.azureToken}`;
      if (req.headers['api-key'] !== opts.azureKey && !entra) return sendError(res, 401);
      const dated = /^\/openai\/deployments\/[^/]+\/(chat\/completions|embeddings)$/.exec(path) ?? /^\/openai\/(models|responses)$/.exec(path);
      const v1 = /^\/openai\/v1\/(chat\/completions|embeddings|models|responses)$/.exec(path);
      if (dated && !new URL(req.url!, 'http://x').searchParams.get('api-version')) return sendError(res, 404);
      if (!dated && !v1) return sendError(res, 404);
      path = `/v1/${(dated ?? v1)![1]}`;
    } else if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) return sendError(res, 401);
    if (path === '/v1/embeddings') return embeddings(res, body);
    if (path === '/v1/models' && req.method === 'GET') {
      const out = JSON.stringify({ object: 'list', data: [{ id: 'gpt-4', object: 'model', created: 1687882411, owned_by: 'openai' }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
      return;
    }
    if (path === '/v1/responses') return responses(res, body);
    if (path === '/v1/completions') return completions(res, body);
    if (path !== '/v1/chat/completions') return sendError(res, 404);
    const text = lastText(body.messages);
    const delay = directive(text, 'delay');
    if (delay) await sleep(Number(delay));
    if (directive(text, 'hang') !== null) return;
    const retryAfter = directive(text, 'retry-after');
    const errHeaders: Record<string, string> = retryAfter !== null ? { 'retry-after': retryAfter } : {};
    const reset = directive(text, 'reset');
    if (reset !== null) Object.assign(errHeaders, { 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': reset });
    const status = directive(text, 'status');
    if (status) return sendError(res, Number(status), errHeaders);
    if (directive(text, 'context-window') !== null) {
      // OpenAI's answer to a prompt longer than the model's context window, as it words it.
      const out = JSON.stringify({
        error: {
          message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9013 tokens. Please reduce the length of the messages.",
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
        },
      });
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      return void res.end(out);
    }
    if (directive(text, 'content-filter') !== null) {
      // Azure's refusal of a prompt its content filter flags, as documented.
      const out = JSON.stringify({
        error: {
          message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
          type: null,
          param: 'prompt',
          code: 'content_filter',
          status: 400,
          innererror: {
            code: 'ResponsibleAIPolicyViolation',
            content_filter_result: {
              hate: { filtered: false, severity: 'safe' },
              jailbreak: { filtered: false, detected: false },
              self_harm: { filtered: false, severity: 'safe' },
              sexual: { filtered: false, severity: 'safe' },
              violence: { filtered: true, severity: 'medium' },
            },
          },
        },
      });
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
      return;
    }
    const once = directive(text, 'fail-once');
    if (once && !seen.has(text)) {
      seen.add(text);
      return sendError(res, Number(once), errHeaders);
    }

    const id = `chatcmpl-fake${++counter}`;
    const created = Math.floor(Date.now() / 1000);
    const model = String(body.model);
    let words = (opts.answer ?? DEFAULT_ANSWER).split(' ');
    const wanted = directive(text, 'chunks');
    if (wanted) words = Array.from({ length: Number(wanted) }, (_, i) => words[i % words.length]!);
    const maxTokens = body.max_completion_tokens ?? body.max_tokens;
    let finish = 'stop';
    if (typeof maxTokens === 'number' && words.length > maxTokens) {
      words = words.slice(0, maxTokens);
      finish = 'length';
    }
    const usage = {
      prompt_tokens: countPromptTokens(body.messages),
      completion_tokens: words.length,
      total_tokens: countPromptTokens(body.messages) + words.length,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const noUsage = directive(text, 'no-usage') !== null;
    const toolName = directive(text, 'tool-call') !== null ? String(body.tools?.[0]?.function?.name ?? 'none') : null;
    if (toolName) finish = 'tool_calls';
    const ARGS = ['{"path":', '"README.md"}'];
    const reasoning = directive(text, 'reasoning') !== null ? 'Thinking about it.' : null;

    if (body.stream !== true) {
      const out = JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: toolName ? null : words.join(' '),
              refusal: null,
              annotations: [],
              ...(reasoning ? { reasoning_content: reasoning } : {}),
              ...(toolName ? { tool_calls: [{ id: 'call_fake1', type: 'function', function: { name: toolName, arguments: ARGS.join('') } }] } : {}),
            },
            logprobs: null,
            finish_reason: finish,
          },
        ],
        ...(noUsage ? {} : { usage }),
        service_tier: 'default',
        system_fingerprint: 'fp_fake',
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'x-request-id': `req_${counter}`, 'openai-processing-ms': '1' });
      res.end(out);
      return;
    }

    if (opts.mistral && body.stream_options !== undefined) {
      const detail = JSON.stringify({ object: 'error', message: { detail: [{ type: 'extra_forbidden', loc: ['body', 'stream_options'], msg: 'Extra inputs are not permitted', input: body.stream_options }] }, type: 'invalid_request_message_error', param: null, code: null });
      res.writeHead(422, { 'content-type': 'application/json' });
      return void res.end(detail);
    }
    const includeUsage = body.stream_options?.include_usage === true && !noUsage;
    const gap = Number(directive(text, 'gap') ?? 0);
    const cut = directive(text, 'cut');
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': `req_${counter}` });
    const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
    res.write(frame([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]));
    if (reasoning) res.write(frame([{ index: 0, delta: { reasoning_content: reasoning }, logprobs: null, finish_reason: null }]));
    if (toolName) {
      res.write(frame([{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_fake1', type: 'function', function: { name: toolName, arguments: '' } }] }, logprobs: null, finish_reason: null }]));
      for (const part of ARGS) res.write(frame([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: part } }] }, logprobs: null, finish_reason: null }]));
      words = [];
    }
    for (let i = 0; i < words.length; i++) {
      if (gap) await sleep(gap);
      if (cut !== null && i === Number(cut)) {
        res.destroy();
        return;
      }
      if (res.destroyed) return;
      if (i === 2 && directive(text, 'stream-error') !== null) {
        res.end(`data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } })}\n\n`);
        return;
      }
      const content = i === 0 ? words[i] : ` ${words[i]}`;
      res.write(frame([{ index: 0, delta: { content }, logprobs: null, finish_reason: null }]));
    }
    if (directive(text, 'no-end') !== null) return void res.end();
    res.write(frame([{ index: 0, delta: {}, logprobs: null, finish_reason: finish }], opts.mistral && !noUsage ? { usage } : {}));
    if (includeUsage) res.write(frame([], { usage }));
    res.end('data: [DONE]\n\n');
  }

  /** OpenAI's Responses API, as its reference documents the object and the stream. */
  async function responses(res: ServerResponse, body: Record<string, any>): Promise<void> {
    const items: any[] = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input : [];
    const texts = items.map((i) => (typeof i.content === 'string' ? i.content : Array.isArray(i.content) ? i.content.map((p: any) => p.text ?? '').join(' ') : typeof i.output === 'string' ? i.output : ''));
    const text = texts.at(-1) ?? '';
    const status = directive(text, 'status');
    if (status) return sendError(res, Number(status));
    const id = `resp_fake${++counter}`;
    let words = (opts.answer ?? DEFAULT_ANSWER).split(' ');
    const wanted = directive(text, 'chunks');
    if (wanted) words = Array.from({ length: Number(wanted) }, (_, i) => words[i % words.length]!);
    const tool = directive(text, 'tool-call') !== null ? body.tools?.find((t: any) => t.type === 'function') : null;
    const input = [body.instructions ?? '', ...texts].join(' ').split(/\s+/).filter(Boolean).length;
    const output = tool ? 5 : words.length;
    const usage = { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
    const message = { type: 'message', id: `msg_fake${counter}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: words.join(' '), annotations: [], logprobs: [] }] };
    const call = tool ? { type: 'function_call', id: `fc_fake${counter}`, call_id: `call_fake${counter}`, name: tool.name, arguments: '{"path":"README.md"}', status: 'completed' } : null;
    const response = (st: string, out: unknown[], u: unknown) => ({
      id, object: 'response', created_at: Math.floor(Date.now() / 1000), status: st, error: null, incomplete_details: null, instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null, model: String(body.model), output: out, parallel_tool_calls: true, previous_response_id: body.previous_response_id ?? null,
      reasoning: { effort: null, summary: null }, store: body.store ?? true, temperature: 1, text: { format: { type: 'text' } }, tool_choice: 'auto', tools: body.tools ?? [], top_p: 1,
      truncation: 'disabled', usage: u, user: null, metadata: body.metadata ?? {},
    });
    const final = call ? [call] : [message];
    if (body.stream !== true) {
      const out = JSON.stringify(response('completed', final, usage));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      return void res.end(out);
    }
    let seq = 0;
    const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    res.write(ev('response.created', { response: response('in_progress', [], null) }));
    res.write(ev('response.in_progress', { response: response('in_progress', [], null) }));
    if (call) {
      res.write(ev('response.output_item.added', { output_index: 0, item: { ...call, arguments: '', status: 'in_progress' } }));
      for (const part of ARGS_PARTS) res.write(ev('response.function_call_arguments.delta', { item_id: call.id, output_index: 0, delta: part }));
      res.write(ev('response.function_call_arguments.done', { item_id: call.id, output_index: 0, arguments: call.arguments }));
      res.write(ev('response.output_item.done', { output_index: 0, item: call }));
    } else {
      const cut = directive(text, 'cut');
      res.write(ev('response.output_item.added', { output_index: 0, item: { ...message, status: 'in_progress', content: [] } }));
      res.write(ev('response.content_part.added', { item_id: message.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
      for (const [i, w] of words.entries()) {
        if (cut !== null && i === Number(cut)) return void res.destroy();
        res.write(ev('response.output_text.delta', { item_id: message.id, output_index: 0, content_index: 0, delta: i === 0 ? w : ` ${w}`, logprobs: [] }));
      }
      if (directive(text, 'fail') !== null) {
        res.write(ev('response.failed', { response: { ...response('failed', [], usage), error: { code: 'server_error', message: 'The model failed.' } } }));
        return void res.end();
      }
      res.write(ev('response.output_text.done', { item_id: message.id, output_index: 0, content_index: 0, text: words.join(' '), logprobs: [] }));
      res.write(ev('response.content_part.done', { item_id: message.id, output_index: 0, content_index: 0, part: message.content[0] }));
      res.write(ev('response.output_item.done', { output_index: 0, item: message }));
    }
    res.end(ev('response.completed', { response: response('completed', final, usage) }));
  }

  /** The legacy completions API: a text per prompt, streamed as text_completion chunks. */
  function completions(res: ServerResponse, body: Record<string, any>): void {
    const prompts: string[] = Array.isArray(body.prompt) ? body.prompt.map(String) : [String(body.prompt ?? '')];
    const status = directive(prompts.at(-1) ?? '', 'status');
    if (status) return sendError(res, Number(status));
    const words = (opts.answer ?? DEFAULT_ANSWER).split(' ');
    const id = `cmpl-fake${++counter}`;
    const created = Math.floor(Date.now() / 1000);
    const prompt = prompts.join(' ').split(/\s+/).filter(Boolean).length;
    const usage = { prompt_tokens: prompt, completion_tokens: words.length * prompts.length, total_tokens: prompt + words.length * prompts.length };
    const text = (body.echo === true ? prompts[0] : '') + words.join(' ');
    if (body.stream !== true) {
      const out = JSON.stringify({ id, object: 'text_completion', created, model: String(body.model), choices: prompts.map((_, index) => ({ text, index, logprobs: null, finish_reason: 'stop' })), usage });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      return void res.end(out);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (t: string, finish: string | null) => `data: ${JSON.stringify({ id, object: 'text_completion', created, model: String(body.model), choices: [{ text: t, index: 0, logprobs: null, finish_reason: finish }] })}\n\n`;
    for (const [i, w] of words.entries()) res.write(chunk(i === 0 ? w : ` ${w}`, null));
    res.write(chunk('', 'stop'));
    if (body.stream_options?.include_usage === true) res.write(`data: ${JSON.stringify({ id, object: 'text_completion', created, model: String(body.model), choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  function embeddings(res: ServerResponse, body: Record<string, any>): void {
    const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input];
    const tokens = inputs.reduce<number>((n, s) => n + (typeof s === 'string' ? s.split(/\s+/).filter(Boolean).length : 1), 0);
    const out = JSON.stringify({
      object: 'list',
      data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.0023064255, -0.009327292, 0.015797347] })),
      model: String(body.model),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  }

  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
