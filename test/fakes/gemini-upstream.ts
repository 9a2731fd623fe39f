// A fake Google server speaking Gemini's documented wire format, at Google AI Studio's addresses
// (/v1beta/models/{model}:method, the key in x-goog-api-key) and Vertex AI's
// (/v1/projects/{p}/locations/{l}/publishers/{google|anthropic}/models/{model}:method, an OAuth bearer
// token): generateContent, streamGenerateContent?alt=sse (frames ended by \r\n\r\n, as Google's are),
// countTokens, batchEmbedContents, Vertex's predict for embeddings, and Claude's rawPredict /
// streamRawPredict (relayed to a fake Anthropic, after checking Vertex's body: no model, anthropic_version).
// A fake OAuth token endpoint (POST /token) hands out the tokens the Vertex side accepts.
// Directives in the last user text steer it:
//   [[status:N]]      Google's error envelope (429 with a RetryInfo detail of 7s)
//   [[tool-call]]     call the first declared function (with a thought signature); [[parallel-tools]] the first two
//   [[reasoning]]     thought parts first, counted in thoughtsTokenCount
//   [[safety]]        the candidate stops with finishReason SAFETY (in a stream, after one chunk)
//   [[block-prompt]]  promptFeedback.blockReason SAFETY and no candidates
//   [[json]]          answer {"answer":"fake"}
//   [[cached:N]]      N of the prompt's tokens served from the context cache
//   [[long]]          a prompt of 250,000 tokens (the long-context price tier)
//   [[cut:N]]         destroy the connection after N chunks; [[stream-error]] an error frame after two
//   [[max-tokens]]    stop with MAX_TOKENS
//   [[array-error]]   a 429 whose envelope comes inside an array, as Google's streaming endpoints send it
//   [[code]]          an answer of the code execution tool: executableCode, codeExecutionResult, then text
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordingServer, type RecordedRequest } from './recording-server.ts';
import type { FakeUpstream } from './openai-upstream.ts';

export const GEMINI_SIGNATURE = 'CiQBVKhc7v+fake/thought+signature==';
const DEFAULT_ANSWER = 'Hello! I am a fake Gemini model and I am doing well.';

const STATUS: Record<number, [string, string]> = {
  400: ['INVALID_ARGUMENT', 'Request contains an invalid argument.'],
  401: ['UNAUTHENTICATED', 'Request had invalid authentication credentials.'],
  403: ['PERMISSION_DENIED', 'Permission denied on resource project.'],
  404: ['NOT_FOUND', 'models/unknown is not found for API version v1beta.'],
  429: ['RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).'],
  500: ['INTERNAL', 'An internal error has occurred.'],
  503: ['UNAVAILABLE', 'The model is overloaded. Please try again later.'],
};

function sendError(res: ServerResponse, code: number, array = false): void {
  const [status, message] = STATUS[code] ?? ['UNKNOWN', `Error ${code}.`];
  const error: Record<string, unknown> = { code, message, status };
  if (code === 429) error.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }];
  const body = JSON.stringify(array ? [{ error }] : { error });
  res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

function partsText(parts: unknown): string {
  return Array.isArray(parts) ? parts.map((p) => (typeof p?.text === 'string' ? p.text : '')).join(' ') : '';
}

/** The fake's token count: whitespace-separated words of every text part, system instruction included. */
export function countGeminiPrompt(body: Record<string, any>): number {
  let n = words(partsText(body.systemInstruction?.parts));
  for (const c of Array.isArray(body.contents) ? body.contents : []) n += words(partsText(c?.parts));
  return n;
}

function directive(text: string, name: string): string | null {
  const m = new RegExp(`\\[\\[${name}(?::([^\\]]*))?\\]\\]`).exec(text);
  return m ? (m[1] ?? '') : null;
}

export interface FakeGemini extends FakeUpstream {
  /** The OAuth token endpoint, for a credentials file's token_uri. */
  tokenUri: string;
  /** Token requests the OAuth endpoint answered. */
  tokenRequests: number;
}

export interface GeminiFakeOptions {
  /** The AI Studio key (x-goog-api-key). */
  apiKey?: string;
  /** A fake Anthropic server Claude's rawPredict calls are relayed to. */
  anthropic?: FakeUpstream;
  /** Seconds the OAuth endpoint's tokens last (expires_in). */
  tokenLifetime?: number;
  /** Words of the default answer. */
  answer?: string;
}

export async function startFakeGemini(opts: GeminiFakeOptions = {}): Promise<FakeGemini> {
  const requests: RecordedRequest[] = [];
  const tokens = new Set<string>();
  let issued = 0;
  let counter = 0;

  const server: Server = recordingServer(requests, (res) => sendError(res, 400), (req, res, body) => handle(req, res, body));

  async function handle(req: IncomingMessage, res: ServerResponse, body: Record<string, any>): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const studio = /^\/v1beta\/models(?:\/([^/:]+)(?::(\w+))?)?$/.exec(path);
    const vertex = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/(google|anthropic)\/models\/([^/:]+):(\w+)$/.exec(path);
    if (studio) {
      if (opts.apiKey && req.headers['x-goog-api-key'] !== opts.apiKey) return sendError(res, 401);
      if (req.headers.authorization) return sendError(res, 401);
    } else if (vertex) {
      const auth = req.headers.authorization;
      if (!auth?.startsWith('Bearer ') || !tokens.has(auth.slice(7))) return sendError(res, 401);
    } else return sendError(res, 404);
    if (studio && !studio[2]) {
      if (req.method !== 'GET') return sendError(res, 404);
      const out = JSON.stringify({ models: [{ name: 'models/gemini-2.5-flash', displayName: 'Gemini 2.5 Flash' }] });
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(out);
    }
    const model = decodeURIComponent(studio ? studio[1]! : vertex![4]!);
    const method = studio ? studio[2]! : vertex![5]!;
    if (vertex?.[3] === 'anthropic') return claude(res, body, model, method);
    switch (method) {
      case 'countTokens':
        return json(res, { totalTokens: countGeminiPrompt(body) });
      case 'batchEmbedContents':
        if (!studio || !Array.isArray(body.requests)) return sendError(res, 400);
        return json(res, { embeddings: body.requests.map((r: any) => ({ values: vector(partsText(r.content?.parts), r.outputDimensionality) })) });
      case 'predict':
        if (!vertex || !Array.isArray(body.instances)) return sendError(res, 400);
        return json(res, {
          predictions: body.instances.map((i: any) => ({ embeddings: { values: vector(String(i.content), body.parameters?.outputDimensionality), statistics: { token_count: words(String(i.content)), truncated: false } } })),
        });
      case 'generateContent':
        return generate(res, body, model, false);
      case 'streamGenerateContent':
        if (query.get('alt') !== 'sse') return sendError(res, 400);
        return generate(res, body, model, true);
      default:
        return sendError(res, 404);
    }
  }

  function vector(text: string, dims: unknown): number[] {
    const n = typeof dims === 'number' ? dims : 8;
    return Array.from({ length: n }, (_, i) => Math.round(((text.length + i) % 7) * 0.125 * 1000) / 1000);
  }

  function json(res: ServerResponse, value: unknown): void {
    const out = JSON.stringify(value);
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  }

  async function claude(res: ServerResponse, body: Record<string, any>, model: string, method: string): Promise<void> {
    if (!opts.anthropic || (method !== 'rawPredict' && method !== 'streamRawPredict')) return sendError(res, 404);
    if ('model' in body || body.anthropic_version !== 'vertex-2023-10-16') return sendError(res, 400);
    if ((method === 'streamRawPredict') !== (body.stream === true)) return sendError(res, 400);
    const { anthropic_version: _, ...rest } = body;
    const up = await fetch(`${opts.anthropic.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...rest, model }),
    });
    res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
    if (up.body) for await (const chunk of up.body) res.write(chunk);
    res.end();
  }

  async function generate(res: ServerResponse, body: Record<string, any>, model: string, stream: boolean): Promise<void> {
    const contents = Array.isArray(body.contents) ? body.contents : [];
    if (contents.length === 0) return sendError(res, 400);
    const last = contents[contents.length - 1];
    const text = partsText(last?.parts);
    const status = directive(text, 'status');
    if (status) return sendError(res, Number(status));
    if (directive(text, 'array-error') !== null) return sendError(res, 429, true);
    const responseId = `fakeResp${String(++counter).padStart(4, '0')}`;
    let prompt = countGeminiPrompt(body);
    if (directive(text, 'long') !== null) prompt = 250_000;
    const cached = Number(directive(text, 'cached') ?? 0);
    const answer = directive(text, 'json') !== null ? '{"answer":"fake"}' : (opts.answer ?? DEFAULT_ANSWER);
    const thought = directive(text, 'reasoning') !== null ? 'Let me think about this carefully.' : null;
    const declared: string[] = (body.tools ?? []).flatMap((t: any) => (t.functionDeclarations ?? []).map((f: any) => f.name));
    const calls = directive(text, 'parallel-tools') !== null ? declared.slice(0, 2) : directive(text, 'tool-call') !== null ? declared.slice(0, 1) : [];
    const usage = (output: number) => {
      const u: Record<string, unknown> = { promptTokenCount: prompt, candidatesTokenCount: output, totalTokenCount: prompt + output + (thought ? words(thought) : 0) };
      if (thought) u.thoughtsTokenCount = words(thought);
      if (cached) u.cachedContentTokenCount = cached;
      return u;
    };
    const callParts = calls.map((name, i) => ({ functionCall: { name, args: { path: `README${i}.md` } }, ...(i === 0 ? { thoughtSignature: GEMINI_SIGNATURE } : {}) }));
    const finish = directive(text, 'max-tokens') !== null ? 'MAX_TOKENS' : directive(text, 'safety') !== null ? 'SAFETY' : 'STOP';
    const safetyRatings = [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: finish === 'SAFETY' ? 'HIGH' : 'NEGLIGIBLE' }];

    if (directive(text, 'block-prompt') !== null) {
      return json(res, { promptFeedback: { blockReason: 'SAFETY', safetyRatings }, usageMetadata: usage(0), modelVersion: model, responseId });
    }
    if (!stream) {
      const parts: Record<string, unknown>[] = [];
      if (thought) parts.push({ text: thought, thought: true });
      if (directive(text, 'code') !== null) {
        parts.push({ executableCode: { language: 'PYTHON', code: 'print(6 * 7)' } }, { codeExecutionResult: { outcome: 'OUTCOME_OK', output: '42\n' } });
      }
      if (finish !== 'SAFETY') {
        if (calls.length === 0) parts.push({ text: answer });
        for (const p of callParts) parts.push(p);
      }
      const candidate: Record<string, unknown> = { content: { role: 'model', parts }, finishReason: finish, index: 0, safetyRatings };
      if (finish === 'SAFETY') delete candidate.content;
      return json(res, { candidates: [candidate], usageMetadata: usage(calls.length > 0 ? 10 * calls.length : finish === 'SAFETY' ? 0 : words(answer)), modelVersion: model, responseId });
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const frame = (value: unknown) => res.write(`data: ${JSON.stringify(value)}\r\n\r\n`);
    const cut = directive(text, 'cut');
    const pieces = calls.length > 0 ? [] : answer.split(' ').map((w, i) => (i === 0 ? w : ` ${w}`));
    let sent = 0;
    const chunk = (parts: unknown[], extra: Record<string, unknown> = {}) =>
      frame({ candidates: [{ content: { role: 'model', parts }, index: 0, ...extra }], usageMetadata: { promptTokenCount: prompt, totalTokenCount: prompt }, modelVersion: model, responseId });
    if (thought) chunk([{ text: thought, thought: true }]);
    for (const p of pieces) {
      if (cut !== null && sent === Number(cut)) {
        await new Promise((r) => setTimeout(r, 50));
        return void res.destroy();
      }
      if (directive(text, 'stream-error') !== null && sent === 2) {
        frame({ error: { code: 500, message: 'An internal error has occurred.', status: 'INTERNAL' } });
        return void res.end();
      }
      if (finish === 'SAFETY' && sent === 1) {
        frame({ candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'SAFETY', index: 0, safetyRatings }], usageMetadata: usage(1), modelVersion: model, responseId });
        return void res.end();
      }
      chunk([{ text: p }]);
      sent++;
    }
    // The last frame: the finish reason and the whole usage (function calls come whole, here too).
    frame({
      candidates: [{ content: { role: 'model', parts: calls.length > 0 ? callParts : [{ text: '' }] }, finishReason: finish, index: 0, safetyRatings }],
      usageMetadata: usage(calls.length > 0 ? 10 * calls.length : words(answer)),
      modelVersion: model,
      responseId,
    });
    res.end();
  }

  // The OAuth endpoint: a JWT-bearer (service account) or refresh-token (authorized user) grant in, a token out.
  const oauth = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const grant = form.get('grant_type');
      const ok = (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer' && (form.get('assertion') ?? '').split('.').length === 3) || (grant === 'refresh_token' && form.get('refresh_token'));
      if (req.method !== 'POST' || !ok) {
        res.writeHead(400, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid grant.' }));
      }
      const token = `ya29.fake-${++issued}`;
      tokens.add(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: token, expires_in: opts.tokenLifetime ?? 3599, token_type: 'Bearer' }));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => oauth.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const { port: oauthPort } = oauth.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tokenUri: `http://127.0.0.1:${oauthPort}/token`,
    get tokenRequests() {
      return issued;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        oauth.closeAllConnections();
        oauth.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
