// A fake AWS Bedrock runtime speaking its documented wire format: POST /model/{modelId}/converse and
// /converse-stream (Converse's JSON; the stream in AWS's binary event-stream framing, each event's
// payload padded with "p" as Bedrock pads them), /invoke and /invoke-with-response-stream for Claude
// (Anthropic's body with anthropic_version bedrock-2023-05-31 and no model or stream; relayed to a fake
// Anthropic, its SSE events re-sent base64-encoded in `chunk` events). Errors come as Bedrock sends them:
// the status, the name in x-amzn-errortype, {"message"} in the body; in a stream, an exception message.
// Every call must be signed with SigV4 by known credentials (checked by AWS's signer over the received
// request, and the body against x-amz-content-sha256), or carry a known Bedrock API key as a bearer token.
// A fake STS (AssumeRole, signed; AssumeRoleWithWebIdentity with a known token) hands out temporary
// credentials the runtime then accepts.
// Directives in the last user text:
//   [[status:N]]        Bedrock's error for status N (429 ThrottlingException, 403 AccessDeniedException, ...)
//   [[too-long]]        400 ValidationException "Input is too long for requested model."
//   [[tool-call]]       call the first tool with {"city":"Paris"}
//   [[reasoning]]       a reasoningContent block first, with a signature
//   [[guardrail]]       stopReason guardrail_intervened, with a guardrail trace
//   [[cached:N]]        N of the prompt's tokens read from the cache; [[cache-write-1h:N]] N written for an hour
//   [[cut:N]]           destroy the connection after N events of a stream
//   [[stream-exception]] a throttlingException after the first two text deltas
//   [[words:N]]         answer N words
// InvokeModel of a Titan or Cohere embedding model answers with vectors and their token counts.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { recordingServer, type RecordedRequest } from './recording-server.ts';
import type { FakeUpstream } from './openai-upstream.ts';

export const BEDROCK_SIGNATURE = 'ErcBCkgIAhABGAIiQGZha2UgYmVkcm9jayBzaWduYXR1cmUgKGJ5dGUgZm9yIGJ5dGUp';
const DEFAULT_ANSWER = 'Hello! I am a fake Bedrock model and I am doing well.';

export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface FakeBedrock extends FakeUpstream {
  /** The fake STS's address (aws_sts_endpoint). */
  stsUrl: string;
  /** Calls STS answered, by action. */
  sts: string[];
}

export interface BedrockFakeOptions {
  region?: string;
  /** Long-term keys the runtime and STS accept. */
  keys?: AwsKeys[];
  /** Bedrock API keys the runtime accepts as bearer tokens. */
  apiKeys?: string[];
  /** Web identity tokens STS exchanges. */
  webIdentityTokens?: string[];
  /** How long STS's temporary credentials last (seconds; 3600 by default). */
  stsLifetimeS?: number;
  /** A fake Anthropic that InvokeModel calls are relayed to. */
  anthropic?: FakeUpstream;
  /** The answer's text (words, one delta each). */
  answer?: string;
}

const ERRORS: Record<number, [string, string]> = {
  400: ['ValidationException', 'Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again.'],
  403: ['AccessDeniedException', "You don't have access to the model with the specified model ID."],
  404: ['ResourceNotFoundException', 'Could not resolve the foundation model from the provided model identifier.'],
  408: ['ModelTimeoutException', 'Model has timed out in processing the request. Try your request again.'],
  424: ['ModelErrorException', 'The model returned an error.'],
  429: ['ThrottlingException', 'Too many requests, please wait before trying again.'],
  500: ['InternalServerException', 'The server encountered an internal error.'],
  503: ['ServiceUnavailableException', 'Bedrock is unable to process your request.'],
};

function sendError(res: ServerResponse, status: number, name?: string, message?: string): void {
  const [n, m] = ERRORS[status] ?? ['InternalServerException', `Error ${status}.`];
  const body = JSON.stringify({ message: message ?? m });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-errortype': `${name ?? n}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(body);
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

function blockText(b: Record<string, any>): string {
  if (typeof b?.text === 'string') return b.text;
  if (b?.toolResult) return (b.toolResult.content ?? []).map((c: Record<string, any>) => (typeof c.text === 'string' ? c.text : '')).join(' ');
  return '';
}

/** The fake's token count: whitespace-separated words of the system prompt and every text. */
export function countConversePrompt(body: Record<string, any>): number {
  let n = 0;
  for (const s of Array.isArray(body.system) ? body.system : []) n += words(blockText(s));
  for (const m of Array.isArray(body.messages) ? body.messages : []) for (const b of m.content ?? []) n += words(blockText(b));
  return n;
}

function directive(text: string, name: string): string | null {
  const m = new RegExp(`\\[\\[${name}(?::([^\\]]*))?\\]\\]`).exec(text);
  return m ? (m[1] ?? '') : null;
}

const sha256 = Hash.bind(null, 'sha256');
const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** One event-stream message: an event with its JSON payload (padded as Bedrock pads), or an exception. */
export function eventMessage(type: string, payload: Record<string, unknown>, kind: 'event' | 'exception' = 'event'): Uint8Array {
  const headers: Record<string, { type: 'string'; value: string }> = {
    ':message-type': { type: 'string', value: kind },
    [kind === 'event' ? ':event-type' : ':exception-type']: { type: 'string', value: type },
    ':content-type': { type: 'string', value: 'application/json' },
  };
  const body = kind === 'event' ? { ...payload, p: 'abcdefghijklmnopqrstuvwxyzABCDEF'.slice(0, 4 + (type.length % 20)) } : payload;
  return codec.encode({ headers, body: fromUtf8(JSON.stringify(body)) });
}

function parseAmzDate(v: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : null;
}

/**
 * Checks a request's SigV4 signature by signing the received request again with AWS's signer (its
 * signed headers only, at its own date) and comparing. Null when good, else why not (AWS's words).
 */
export async function verifySigV4(req: IncomingMessage, raw: Buffer, service: string, region: string, known: (id: string) => AwsKeys | undefined): Promise<string | null> {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'Authorization header requires Credential, SignedHeaders and Signature (AWS4-HMAC-SHA256).';
  const [, id, , scopeRegion, scopeService, signedHeaders, signature] = m;
  const keys = known(id!);
  if (!keys) return 'The security token included in the request is invalid.';
  if (scopeRegion !== region || scopeService !== service) return `Credential should be scoped to a valid region and service (${region}/${service}).`;
  if (keys.sessionToken && req.headers['x-amz-security-token'] !== keys.sessionToken) return 'The security token included in the request is invalid.';
  const date = parseAmzDate(String(req.headers['x-amz-date'] ?? ''));
  if (!date || Math.abs(Date.now() - date.getTime()) > 5 * 60_000) return 'Signature expired or not yet valid (x-amz-date).';
  const hash = req.headers['x-amz-content-sha256'];
  if (hash !== undefined && hash !== createHash('sha256').update(raw).digest('hex')) return 'The provided x-amz-content-sha256 header does not match what was computed.';
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(';')) {
    const v = req.headers[name];
    headers[name] = Array.isArray(v) ? v.join(',') : String(v ?? '');
  }
  const u = new URL(req.url ?? '/', `http://${req.headers.host}`);
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = v;
  const signer = new SignatureV4({ service, region, credentials: keys, sha256 });
  const again = await signer.sign(
    { method: req.method ?? 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, query, headers, body: raw },
    { signingDate: date },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(again.headers.authorization))?.[1];
  return expected === signature ? null : 'The request signature we calculated does not match the signature you provided.';
}

export async function startFakeBedrock(opts: BedrockFakeOptions = {}): Promise<FakeBedrock> {
  const region = opts.region ?? 'us-east-1';
  const requests: RecordedRequest[] = [];
  const temporary = new Map<string, AwsKeys>();
  const sts: string[] = [];
  const known = (id: string) => opts.keys?.find((k) => k.accessKeyId === id) ?? temporary.get(id);

  const server: Server = recordingServer(requests, (res) => sendError(res, 400, 'SerializationException', 'Unexpected character'), async (req, res, body) => {
    const rec = requests[requests.length - 1]!;
    const auth = req.headers.authorization ?? '';
    if (auth.startsWith('Bearer ')) {
      if (!opts.apiKeys?.includes(auth.slice(7))) return sendError(res, 403, 'UnrecognizedClientException', 'Invalid API Key format: Must start with pre-defined prefix');
    } else {
      const why = await verifySigV4(req, rec.raw, 'bedrock', region, known);
      if (why) return sendError(res, 403, why.includes('signature') ? 'InvalidSignatureException' : 'UnrecognizedClientException', why);
    }
    const m = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/.exec((req.url ?? '').split('?')[0]!);
    if (!m) return sendError(res, 404, 'UnknownOperationException', 'Unknown operation');
    const modelId = decodeURIComponent(m[1]!);
    if (m[2] === 'invoke' || m[2] === 'invoke-with-response-stream') return invoke(res, body, modelId, m[2] !== 'invoke');
    return converse(res, body, m[2] === 'converse-stream');
  });

  /** Titan's and Cohere's embedding bodies and answers, as AWS documents them per family. */
  function embed(res: ServerResponse, body: Record<string, any>, modelId: string): void {
    const vector = (text: string, n: number) => Array.from({ length: n }, (_, i) => Number(((text.length + i) / 100).toFixed(2)));
    let out: Record<string, unknown>;
    let tokens: number;
    if (/titan-embed/.test(modelId)) {
      if (typeof body.inputText !== 'string') return sendError(res, 400, 'ValidationException', 'Malformed input request: #: required key [inputText] not found');
      if ('texts' in body) return sendError(res, 400, 'ValidationException', 'Malformed input request: #: extraneous key [texts] is not permitted');
      tokens = words(body.inputText);
      out = { embedding: vector(body.inputText, body.dimensions ?? 4), inputTextTokenCount: tokens };
    } else {
      if (!Array.isArray(body.texts) || typeof body.input_type !== 'string') return sendError(res, 400, 'ValidationException', 'Malformed input request: #: required key [input_type] not found');
      tokens = body.texts.reduce((n: number, t: string) => n + words(t), 0);
      const vectors = body.texts.map((t: string) => vector(t, body.output_dimension ?? 4));
      out = Array.isArray(body.embedding_types) ? { id: randomUUID(), response_type: 'embeddings_by_type', embeddings: { float: vectors }, texts: body.texts } : { id: randomUUID(), response_type: 'embeddings_floats', embeddings: vectors, texts: body.texts };
    }
    const text = JSON.stringify(out);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-amzn-bedrock-input-token-count': String(tokens) });
    res.end(text);
  }

  async function invoke(res: ServerResponse, body: Record<string, any>, modelId: string, stream: boolean): Promise<void> {
    if (/titan-embed|cohere\.embed/.test(modelId)) return embed(res, body, modelId);
    if (!opts.anthropic) return sendError(res, 404);
    if (body.anthropic_version !== 'bedrock-2023-05-31') return sendError(res, 400, 'ValidationException', 'Malformed input request: #: required key [anthropic_version] not found');
    if ('model' in body || 'stream' in body) return sendError(res, 400, 'ValidationException', `Malformed input request: #: extraneous key [${'model' in body ? 'model' : 'stream'}] is not permitted`);
    const relayed = await fetch(`${opts.anthropic.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'relay', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...body, model: modelId, ...(stream ? { stream: true } : {}) }),
    });
    if (relayed.status !== 200 || !stream) {
      const text = await relayed.text();
      if (relayed.status !== 200) return sendError(res, relayed.status, undefined, JSON.parse(text).error?.message);
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': String(JSON.parse(text).usage?.input_tokens ?? 0) });
      return void res.end(text);
    }
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-bedrock-content-type': 'application/json' });
    // Frame by frame as the fake Anthropic sends them (a cut there is a cut here).
    let pending = '';
    try {
      for await (const bytes of relayed.body as AsyncIterable<Uint8Array>) {
        pending += Buffer.from(bytes).toString('utf8');
        const frames = pending.split('\n\n');
        pending = frames.pop()!;
        for (const frame of frames) {
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (!data) continue;
          const ev = JSON.parse(data);
          if (ev.type === 'message_stop') ev['amazon-bedrock-invocationMetrics'] = { inputTokenCount: 1, outputTokenCount: 1, invocationLatency: 10, firstByteLatency: 5 };
          res.write(eventMessage('chunk', { bytes: Buffer.from(JSON.stringify(ev)).toString('base64') }));
        }
      }
    } catch {
      await new Promise((r) => setTimeout(r, 30));
      return void res.destroy();
    }
    res.end();
  }

  async function converse(res: ServerResponse, body: Record<string, any>, stream: boolean): Promise<void> {
    if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(res, 400, 'ValidationException', 'The model returned the following errors: messages: at least one message is required');
    for (const msg of body.messages) {
      for (const b of msg.content ?? []) {
        if (typeof b.text === 'string' && b.text === '') return sendError(res, 400, 'ValidationException', 'The text field in the ContentBlock object is blank.');
        if ((b.toolUse || b.toolResult) && !body.toolConfig) return sendError(res, 400, 'ValidationException', 'The toolConfig field must be defined when using toolUse and toolResult content blocks.');
      }
    }
    const last = body.messages[body.messages.length - 1];
    const text = (last?.content ?? []).map(blockText).join(' ');
    const status = directive(text, 'status');
    if (status) return sendError(res, Number(status));
    if (directive(text, 'too-long') !== null) return sendError(res, 400, 'ValidationException', 'Input is too long for requested model.');

    let answer = (opts.answer ?? DEFAULT_ANSWER).split(' ');
    const wanted = directive(text, 'words');
    if (wanted) answer = Array.from({ length: Number(wanted) }, (_, i) => answer[i % answer.length]!);
    let stopReason = 'end_turn';
    const max = body.inferenceConfig?.maxTokens;
    if (typeof max === 'number' && answer.length > max) {
      answer = answer.slice(0, max);
      stopReason = 'max_tokens';
    }
    const content: Record<string, any>[] = [];
    const reasoning = directive(text, 'reasoning') !== null || body.additionalModelRequestFields?.thinking?.type === 'enabled' ? 'Let me think this through.' : null;
    if (reasoning) content.push({ reasoningContent: { reasoningText: { text: reasoning, signature: BEDROCK_SIGNATURE } } });
    let trace: Record<string, unknown> | undefined;
    if (directive(text, 'guardrail') !== null) {
      stopReason = 'guardrail_intervened';
      answer = ["Sorry, I can't help with that."];
      trace = { guardrail: { inputAssessment: { gr1: { topicPolicy: { topics: [{ name: 'Weapons', type: 'DENY', action: 'BLOCKED', detected: true }] } } } } };
    }
    content.push({ text: answer.join(' ') });
    const tool = directive(text, 'tool-call') !== null ? body.toolConfig?.tools?.find((t: Record<string, any>) => t.toolSpec)?.toolSpec : null;
    if (tool) {
      content.push({ toolUse: { toolUseId: 'tooluse_Fake0123456789abcdef', name: tool.name, input: { city: 'Paris' } } });
      stopReason = 'tool_use';
    }
    const cached = Number(directive(text, 'cached') ?? 0);
    const prompt = countConversePrompt(body);
    const output = answer.length + (reasoning ? words(reasoning) : 0) + (tool ? 3 : 0);
    const usage: Record<string, number> = { inputTokens: prompt - cached, outputTokens: output, totalTokens: prompt + output };
    if (cached > 0) Object.assign(usage, { cacheReadInputTokens: cached, cacheWriteInputTokens: 0 });
    const hour = Number(directive(text, 'cache-write-1h') ?? 0);
    if (hour > 0) Object.assign(usage, { inputTokens: prompt - hour, cacheReadInputTokens: 0, cacheWriteInputTokens: hour, cacheDetails: [{ ttl: '1h', inputTokens: hour }] });

    if (!stream) {
      const out = JSON.stringify({ output: { message: { role: 'assistant', content } }, stopReason, usage, metrics: { latencyMs: 42 }, ...(trace ? { trace } : {}) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'x-amzn-requestid': randomUUID() });
      return void res.end(out);
    }
    const events: Uint8Array[] = [eventMessage('messageStart', { role: 'assistant' })];
    const exception = directive(text, 'stream-exception') !== null;
    let index = 0;
    let deltas = 0;
    for (const b of content) {
      if (b.reasoningContent) {
        events.push(eventMessage('contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { text: b.reasoningContent.reasoningText.text } } }));
        events.push(eventMessage('contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { signature: BEDROCK_SIGNATURE } } }));
      } else if (typeof b.text === 'string') {
        for (const [i, w] of b.text.split(' ').entries()) {
          events.push(eventMessage('contentBlockDelta', { contentBlockIndex: index, delta: { text: i === 0 ? w : ` ${w}` } }));
          if (exception && ++deltas === 2) events.push(eventMessage('throttlingException', { message: 'Too many tokens, please wait before trying again.' }, 'exception'));
        }
      } else if (b.toolUse) {
        events.push(eventMessage('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: b.toolUse.toolUseId, name: b.toolUse.name } } }));
        const args = JSON.stringify(b.toolUse.input);
        events.push(eventMessage('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: args.slice(0, 5) } } }));
        events.push(eventMessage('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: args.slice(5) } } }));
      }
      events.push(eventMessage('contentBlockStop', { contentBlockIndex: index }));
      index++;
    }
    events.push(eventMessage('messageStop', { stopReason }));
    events.push(eventMessage('metadata', { usage, metrics: { latencyMs: 42 }, ...(trace ? { trace } : {}) }));
    const cut = directive(text, 'cut');
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() });
    let sent = 0;
    for (const e of events) {
      if (cut !== null && sent === Number(cut)) {
        // (what was written reaches the client first)
        await new Promise((r) => setTimeout(r, 30));
        return void res.destroy();
      }
      // (events split across writes, as a socket splits them)
      const half = Math.floor(e.length / 2);
      res.write(e.subarray(0, half));
      res.write(e.subarray(half));
      sent++;
    }
    res.end();
  }

  // STS: the Query protocol (form-encoded Action), answered in its XML.
  const stsServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const form = new URLSearchParams(raw.toString('utf8'));
      const action = form.get('Action') ?? '';
      const fail = (code: string, message: string) => {
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
      };
      if (action === 'AssumeRole') {
        const why = await verifySigV4(req, raw, 'sts', region, known);
        if (why) return fail('SignatureDoesNotMatch', why);
      } else if (action === 'AssumeRoleWithWebIdentity') {
        if (!opts.webIdentityTokens?.includes(form.get('WebIdentityToken') ?? '')) return fail('InvalidIdentityToken', 'Couldn\'t retrieve verification key from your identity provider');
      } else return fail('InvalidAction', `Could not find operation ${action}`);
      sts.push(action);
      const keys: AwsKeys = { accessKeyId: `ASIAFAKE${String(sts.length).padStart(8, '0')}`, secretAccessKey: randomUUID(), sessionToken: `FwoGZXIvYXdzEFake${randomUUID()}` };
      temporary.set(keys.accessKeyId, keys);
      const expiration = new Date(Date.now() + (opts.stsLifetimeS ?? 3600) * 1000).toISOString();
      const xml = `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result><Credentials><AccessKeyId>${keys.accessKeyId}</AccessKeyId><SecretAccessKey>${keys.secretAccessKey}</SecretAccessKey><SessionToken>${keys.sessionToken}</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAFAKE:${form.get('RoleSessionName')}</AssumedRoleId><Arn>${form.get('RoleArn')}/${form.get('RoleSessionName')}</Arn></AssumedRoleUser></${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(xml);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => stsServer.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stsUrl: `http://127.0.0.1:${(stsServer.address() as AddressInfo).port}`,
    requests,
    sts,
    close: async () => {
      server.closeAllConnections();
      stsServer.closeAllConnections();
      await Promise.all([new Promise<void>((r) => server.close(() => r())), new Promise<void>((r) => stsServer.close(() => r()))]);
    },
  };
}
