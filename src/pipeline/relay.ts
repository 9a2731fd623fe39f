// Writes the upstream answer to the client. Streams are relayed frame by frame as they arrive
// (N upstream frames, N client frames), with the usage chunk the gateway asked for read on the side
// and dropped when the client did not ask for it, and the output metered as it flows (so a budget can
// stop it). Backpressure from the client pauses the upstream.
import type { ServerResponse } from 'node:http';
import { GatewayError } from '../http/errors.ts';
import { frameData, lastFrameEnd, splitFrames, writeSseError } from '../http/sse.ts';
import type { Attempt } from './dispatch.ts';

export type RawUsage = Record<string, unknown>;

export interface WholeAnswer {
  body: Buffer;
  json: Record<string, any> | null;
  /** performance.now() when the last byte arrived. */
  arrivedAt: number;
}

export interface StreamResult {
  usage: RawUsage | null;
  upstreamId: string | null;
  /** performance.now() when the first byte went to the client. */
  firstByteAt: number | null;
  /** Characters of generated text seen (content, reasoning, tool arguments): the running meter. */
  outputChars: number;
  /** Why the stream ended early, if it did. */
  error: GatewayError | null;
}

export interface StreamHooks {
  /** Called as output flows; false ends the stream with `budget_exceeded`. */
  onOutput(outputChars: number): boolean;
  /** Called once the answer is complete, before its last bytes are written (the ledger's moment). */
  beforeEnd(result: StreamResult): Promise<unknown>;
}

const SKIPPED_HEADERS = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive', 'set-cookie', 'content-type']);
const USAGE_OBJECT = Buffer.from('"usage":{');
const USAGE_OBJECT_SPACED = Buffer.from('"usage": {');
const USAGE = /"usage"\s*:\s*\{/;
// With include_usage, OpenAI adds "usage":null to every chunk; a client that did not ask never sees it.
const USAGE_NULL = Buffer.from(',"usage":null');
const DONE = Buffer.from('data: [DONE]');
const TEXT_FIELDS = ['"content":"', '"reasoning_content":"', '"arguments":"'].map((s) => Buffer.from(s));
const ID = /"id"\s*:\s*"([^"]+)"/;

/** Upstream headers passed back with LiteLLM's `llm_provider-` prefix. */
export function providerHeaders(headers: Attempt['response']['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || SKIPPED_HEADERS.has(k)) continue;
    out[`llm_provider-${k}`] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export async function readWhole(attempt: Attempt): Promise<WholeAnswer> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of attempt.response.body as AsyncIterable<Buffer>) parts.push(chunk);
  } finally {
    attempt.done();
  }
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  let json: Record<string, any> | null = null;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    // a non-JSON success body is passed on as it is
  }
  return { body, json, arrivedAt: performance.now() };
}

/** Characters inside JSON string values of the text fields in a run of frames (escapes counted as written). */
export function textChars(buf: Buffer): number {
  let n = 0;
  for (const field of TEXT_FIELDS) {
    for (let at = buf.indexOf(field); at >= 0; at = buf.indexOf(field, at + 1)) {
      let i = at + field.length;
      const start = i;
      while (i < buf.length && buf[i] !== 0x22) i += buf[i] === 0x5c ? 2 : 1;
      n += i - start;
    }
  }
  return n;
}

function waitDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export async function relayStream(attempt: Attempt, res: ServerResponse, headers: Record<string, string>, hooks: StreamHooks): Promise<StreamResult> {
  const result: StreamResult = { usage: null, upstreamId: null, firstByteAt: null, outputChars: 0, error: null };
  const dropUsage = !attempt.upstream.clientWantsUsage;
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  let pending: Buffer | null = null;
  let tail: Buffer | null = null;
  try {
    for await (const chunk of attempt.response.body as AsyncIterable<Buffer>) {
      const buf: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      const end = lastFrameEnd(buf);
      pending = end < buf.length ? buf.subarray(end) : null;
      if (end === 0) continue;
      let out = buf.subarray(0, end);
      if (result.upstreamId === null) result.upstreamId = ID.exec(out.subarray(0, 512).toString('latin1'))?.[1] ?? null;
      if (dropUsage && out.indexOf(USAGE_NULL) >= 0) out = without(out, USAGE_NULL);
      if (out.indexOf(USAGE_OBJECT) >= 0 || out.indexOf(USAGE_OBJECT_SPACED) >= 0) out = takeUsage(out, result, dropUsage);
      const chars = textChars(out);
      if (chars > 0) {
        result.outputChars += chars;
        if (!hooks.onOutput(result.outputChars)) {
          result.error = new GatewayError('budget_exceeded', 'Budget exceeded: the stream was stopped because the budget cannot pay for more output.');
          break;
        }
      }
      // The [DONE] frame waits until the ledger has the record.
      const done = out.indexOf(DONE);
      if (done >= 0) {
        tail = out.subarray(done);
        out = out.subarray(0, done);
      }
      if (out.length === 0) continue;
      result.firstByteAt ??= performance.now();
      if (res.destroyed) break;
      if (!res.write(out)) await waitDrain(res);
    }
  } catch (err) {
    const timedOut = (err as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT';
    result.error = res.destroyed
      ? new GatewayError('bad_request', 'Client disconnected.', { status: 499, type: 'client_disconnected' })
      : timedOut
      ? new GatewayError('upstream_timeout', `${attempt.deployment.provider} stopped sending within stream_timeout (model ${attempt.deployment.modelName}).`)
      : new GatewayError('upstream_unreachable', `The ${attempt.deployment.provider} stream was cut (model ${attempt.deployment.modelName}).`);
  } finally {
    attempt.done();
    if (result.error) attempt.response.body.destroy();
  }
  await hooks.beforeEnd(result);
  if (res.destroyed) return result;
  if (result.error) writeSseError(res, result.error);
  else res.end(tail && pending ? Buffer.concat([tail, pending]) : (tail ?? pending ?? undefined));
  return result;
}

/** buf with every occurrence of part removed. */
function without(buf: Buffer, part: Buffer): Buffer {
  const pieces: Buffer[] = [];
  let from = 0;
  for (let at = buf.indexOf(part); at >= 0; at = buf.indexOf(part, from)) {
    pieces.push(buf.subarray(from, at));
    from = at + part.length;
  }
  pieces.push(buf.subarray(from));
  return Buffer.concat(pieces);
}

/** Reads usage from the frames that carry it; drops a usage-only chunk the client did not ask for. */
function takeUsage(run: Buffer, result: StreamResult, drop: boolean): Buffer {
  const keep: Buffer[] = [];
  let dropped = false;
  for (const frame of splitFrames(run)) {
    const data = frameData(frame);
    if (data !== null && USAGE.test(data)) {
      try {
        const chunk = JSON.parse(data) as { usage?: RawUsage; choices?: unknown[] };
        if (chunk.usage) result.usage = chunk.usage;
        if (drop && Array.isArray(chunk.choices) && chunk.choices.length === 0) {
          dropped = true;
          continue;
        }
      } catch {
        // not JSON: relay it untouched
      }
    }
    keep.push(frame);
  }
  return dropped ? Buffer.concat(keep) : run;
}
