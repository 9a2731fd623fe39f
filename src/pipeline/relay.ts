// Writes the upstream answer to the client as it arrives. Streams are relayed frame by frame
// (N upstream frames, N client frames), with the usage chunk the gateway asked for read on the side
// and dropped when the client did not ask for it. Backpressure from the client pauses the upstream.
import type { ServerResponse } from 'node:http';
import { GatewayError } from '../http/errors.ts';
import { frameData, lastFrameEnd, splitFrames, writeSseError } from '../http/sse.ts';
import type { Attempt } from './dispatch.ts';

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  [k: string]: unknown;
}

export interface RelayResult {
  usage: Usage | null;
  /** performance.now() when the first byte went to the client. */
  firstByteAt: number | null;
  /** Why the stream ended early, if it did. */
  error: GatewayError | null;
}

const SKIPPED_HEADERS = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive', 'set-cookie', 'content-type']);
const USAGE = /"usage"\s*:\s*\{/;
const USAGE_OBJECT = Buffer.from('"usage":{');
const USAGE_OBJECT_SPACED = Buffer.from('"usage": {');
// With include_usage, OpenAI adds "usage":null to every chunk; a client that did not ask never sees it.
const USAGE_NULL = Buffer.from(',"usage":null');

/** Upstream headers passed back with LiteLLM's `llm_provider-` prefix. */
export function providerHeaders(headers: Attempt['response']['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || SKIPPED_HEADERS.has(k)) continue;
    out[`llm_provider-${k}`] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** The gateway's own time: before the upstream call (preMs) plus since its answer arrived (from `since`). */
function overhead(preMs: number, since: number): string {
  return (preMs + performance.now() - since).toFixed(3);
}

export async function relayWhole(attempt: Attempt, res: ServerResponse, headers: Record<string, string>, preMs: number): Promise<RelayResult> {
  const parts: Buffer[] = [];
  let arrived = 0;
  try {
    for await (const chunk of attempt.response.body as AsyncIterable<Buffer>) parts.push(chunk);
    arrived = performance.now();
  } finally {
    attempt.done();
  }
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  let usage: Usage | null = null;
  try {
    usage = (JSON.parse(body.toString('utf8')) as { usage?: Usage }).usage ?? null;
  } catch {
    // a non-JSON success body is passed on as it is
  }
  if (!res.destroyed) {
    const type = attempt.response.headers['content-type'];
    res.writeHead(attempt.response.statusCode, {
      ...headers,
      'x-litellm-overhead-duration-ms': overhead(preMs, arrived),
      'content-type': typeof type === 'string' ? type : 'application/json',
      'content-length': body.length,
    });
    res.end(body);
  }
  return { usage, firstByteAt: performance.now(), error: null };
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

export async function relayStream(attempt: Attempt, res: ServerResponse, headers: Record<string, string>, preMs: number): Promise<RelayResult> {
  const result: RelayResult = { usage: null, firstByteAt: null, error: null };
  const dropUsage = !attempt.upstream.clientWantsUsage;
  res.writeHead(200, {
    ...headers,
    'x-litellm-overhead-duration-ms': overhead(preMs, performance.now()),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  let pending: Buffer | null = null;
  try {
    for await (const chunk of attempt.response.body as AsyncIterable<Buffer>) {
      const buf: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      const end = lastFrameEnd(buf);
      pending = end < buf.length ? buf.subarray(end) : null;
      if (end === 0) continue;
      let out = buf.subarray(0, end);
      if (dropUsage && out.indexOf(USAGE_NULL) >= 0) out = without(out, USAGE_NULL);
      if (out.indexOf(USAGE_OBJECT) >= 0 || out.indexOf(USAGE_OBJECT_SPACED) >= 0) out = takeUsage(out, result, dropUsage);
      if (out.length === 0) continue;
      result.firstByteAt ??= performance.now();
      if (res.destroyed) break;
      if (!res.write(out)) await waitDrain(res);
    }
    if (pending && pending.length > 0 && !res.destroyed) res.write(pending);
    if (!res.destroyed) res.end();
  } catch (err) {
    if (res.destroyed) return result;
    const timedOut = (err as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT';
    result.error = timedOut
      ? new GatewayError('upstream_timeout', `${attempt.deployment.provider} stopped sending within stream_timeout (model ${attempt.deployment.modelName}).`)
      : new GatewayError('upstream_unreachable', `The ${attempt.deployment.provider} stream was cut (model ${attempt.deployment.modelName}).`);
    writeSseError(res, result.error);
  } finally {
    attempt.done();
  }
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
function takeUsage(run: Buffer, result: RelayResult, drop: boolean): Buffer {
  const keep: Buffer[] = [];
  let dropped = false;
  for (const frame of splitFrames(run)) {
    const data = frameData(frame);
    if (data !== null && USAGE.test(data)) {
      try {
        const chunk = JSON.parse(data) as { usage?: Usage; choices?: unknown[] };
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
