// Writes the upstream answer to the client. Streams go frame by frame as they arrive, through the
// adapter's codec (which passes them on or translates them, reading usage on the side); the output is
// metered as it flows (so a budget can stop it), and backpressure from the client pauses the upstream.
import type { ServerResponse } from 'node:http';
import { type ErrorDialect, GatewayError } from '../http/errors.ts';
import { lastFrameEnd, writeSseError } from '../http/sse.ts';
import type { UsageRecord } from '../metering/usage.ts';
import type { UpstreamBody } from '../providers/http-client.ts';
import type { Attempt } from './dispatch.ts';

export interface WholeAnswer {
  body: Buffer;
  /** performance.now() when the last byte arrived. */
  arrivedAt: number;
}

export interface StreamResult {
  usage: UsageRecord | null;
  upstreamId: string | null;
  /** performance.now() when the first byte went to the client. */
  firstByteAt: number | null;
  /** Characters of generated text seen (content, reasoning, tool arguments): the running meter. */
  outputChars: number;
  /** Why the stream ended early, if it did (the gateway's reason, or the provider's error event). */
  error: GatewayError | null;
  /** A Responses API stream's final Response object. */
  response: Record<string, unknown> | null;
}

export interface StreamHooks {
  /**
   * Called as output flows; false ends the stream with `budget_exceeded`. A promise (the shared
   * counters are asked) holds the output that was metered until it settles.
   */
  onOutput(outputChars: number): boolean | Promise<boolean>;
  /** Called once the answer is complete, before its last bytes are written (the ledger's moment). */
  beforeEnd(result: StreamResult): Promise<unknown>;
  /** Sees every byte the client is sent, its last ones too (the response cache keeps a stream so). */
  tap?: (chunk: Buffer | string) => void;
}

const FRAME_END = Buffer.from('\n\n');
const SKIPPED_HEADERS = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive', 'set-cookie', 'content-type']);

/** Prefixed names made once each: a provider sends the same dozen or two headers on every answer. */
const prefixed = new Map<string, string>();

/** Upstream headers passed back with LiteLLM's `llm_provider-` prefix. */
export function providerHeaders(headers: Attempt['response']['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || SKIPPED_HEADERS.has(k)) continue;
    let name = prefixed.get(k);
    if (name === undefined) {
      name = `llm_provider-${k}`;
      if (prefixed.size < 1000) prefixed.set(k, name);
    }
    out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export async function readWhole(attempt: Attempt): Promise<WholeAnswer> {
  let body: Buffer;
  try {
    body = await attempt.response.body.bytes();
  } catch (err) {
    throw attempt.failed(err);
  } finally {
    attempt.done();
  }
  return { body, arrivedAt: performance.now() };
}

type Step = 0 | 1 | 2;
const CONTINUE = 0;
const DRAIN = 1;
const STOP = 2;

const disconnected = () => new GatewayError('bad_request', 'Client disconnected.', { status: 499, type: 'client_disconnected' });

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

/**
 * Hands the chunks of `body` to `onChunk` until the body ends, fails, or `onChunk` says STOP; on DRAIN
 * the body waits until the client has taken what was written. The chunks parsed from one read of the
 * socket (a burst of frames) are handed over together. While a step is pending (a promise), the body
 * is paused and what arrives waits its turn.
 */
function eachChunk(body: UpstreamBody, res: ServerResponse, onChunk: (run: Buffer) => Step | Promise<Step>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const batch: Buffer[] = [];
    let stopped = false;
    let busy = false;
    let ended = false;
    /** The pending step: the end waits for it, so what it holds is settled with the call, never after. */
    let waiting: Promise<void> | null = null;
    const after = (step: Step) => {
      if (step === STOP) stop();
      else if (step === DRAIN) {
        body.pause();
        void waitDrain(res).then(() => body.resume());
      }
    };
    const flush = () => {
      if (stopped || busy || batch.length === 0) return;
      const run = batch.length === 1 ? batch[0]! : Buffer.concat(batch);
      batch.length = 0;
      let step: Step | Promise<Step>;
      try {
        step = onChunk(run);
      } catch (err) {
        stop(err);
        return;
      }
      if (typeof step === 'number') return after(step);
      busy = true;
      body.pause();
      waiting = step.then(
        (s) => {
          busy = false;
          waiting = null;
          if (stopped) return;
          if (s !== DRAIN) body.resume();
          after(s);
          flush();
          if (ended && !busy) stop();
        },
        (err) => {
          busy = false;
          waiting = null;
          stop(err);
        },
      );
    };
    function stop(err?: unknown): void {
      if (stopped) return;
      stopped = true;
      const finish = () => (err === undefined ? resolve() : reject(err));
      if (waiting) void waiting.then(finish);
      else finish();
    }
    body.read({
      data: (chunk) => {
        if (!stopped && batch.push(chunk) === 1) process.nextTick(flush);
      },
      end: () => {
        ended = true;
        flush();
        if (!busy) stop();
      },
      error: stop,
    });
  });
}

export async function relayStream(
  attempt: Attempt,
  res: ServerResponse,
  headers: Record<string, string>,
  dialect: ErrorDialect,
  hooks: StreamHooks,
): Promise<StreamResult> {
  const codec = attempt.adapter.stream(attempt.upstream);
  const result: StreamResult = { usage: null, upstreamId: null, firstByteAt: null, outputChars: 0, error: null, response: null };
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  // The head goes out with the first frame (dispatch waited for the upstream's first bytes, so that a
  // failure before them could be failed over), else on its own within this turn of the event loop (a
  // codec that holds its first frames back). Whether a frame went out is the relay's to know:
  // `headersSent` is true from writeHead on, sent or not.
  setImmediate(() => {
    if (result.firstByteAt === null && !res.writableEnded && !res.destroyed) res.flushHeaders();
  });
  let pending = null as Buffer | null;
  let metered = 0;
  let step = CONTINUE as Step;
  /**
   * The budget cannot pay for more: the stream stops. A codec that numbers its events (the Responses
   * API's) has given this run's events their numbers: they go out (the output is metered and billed
   * all the same), so that the numbering the client sees has no gap.
   */
  const cut = (out: Buffer | string): Step => {
    result.error = new GatewayError('budget_exceeded', 'Budget exceeded: the stream was stopped because the budget cannot pay for more output.');
    if (codec.errorFrame && out.length > 0 && !res.destroyed) res.write(out);
    return (step = STOP);
  };
  const write = (out: Buffer | string): Step => {
    if (out.length === 0) return (step = CONTINUE);
    result.firstByteAt ??= performance.now();
    if (res.destroyed) {
      result.error = disconnected();
      return (step = STOP);
    }
    hooks.tap?.(out);
    const written = res.write(out);
    return (step = codec.upstreamError !== null ? STOP : written ? CONTINUE : DRAIN);
  };
  /** Relays a run of complete frames: CONTINUE, DRAIN (the client is behind) or STOP. */
  const relay = (run: Buffer): Step | Promise<Step> => {
    const out = codec.push(run);
    if (codec.outputChars > metered) {
      metered = codec.outputChars;
      const paid = hooks.onOutput(metered);
      if (paid === false) return cut(out);
      if (paid !== true) return paid.then((ok) => (ok ? write(out) : cut(out)));
    }
    return write(out);
  };
  try {
    const framed = codec.binary !== true;
    await eachChunk(attempt.response.body, res, (chunk) => {
      if (!framed) return relay(chunk);
      const buf: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      const end = lastFrameEnd(buf);
      pending = end < buf.length ? buf.subarray(end) : null;
      return end === 0 ? CONTINUE : relay(end === buf.length ? buf : buf.subarray(0, end));
    });
    // A last frame without its blank line still counts.
    if (step !== STOP && pending && pending.toString('latin1').trim() !== '') await relay(Buffer.concat([pending, FRAME_END]));
    if (!result.error && !codec.upstreamError && !codec.complete && !res.destroyed) {
      result.error = new GatewayError('upstream_unreachable', `The ${attempt.deployment.provider} stream ended before the answer was complete (model ${attempt.deployment.modelName}).`);
    }
  } catch (err) {
    const timedOut = (err as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT';
    result.error = res.destroyed
      ? disconnected()
      : timedOut
      ? new GatewayError('upstream_timeout', `${attempt.deployment.provider} stopped sending within stream_timeout (model ${attempt.deployment.modelName}).`)
      : new GatewayError('upstream_unreachable', `The ${attempt.deployment.provider} stream was cut (model ${attempt.deployment.modelName}).`);
  } finally {
    attempt.done();
    if (result.error || codec.upstreamError) attempt.response.body.destroy();
  }
  result.usage = codec.usage;
  result.upstreamId = codec.upstreamId;
  result.outputChars = codec.outputChars;
  result.error ??= codec.upstreamError;
  // (a stream the gateway ended has no final Response: asking for one would number its closing events)
  result.response = result.error ? null : (codec.response ?? null);
  await hooks.beforeEnd(result);
  if (res.destroyed) return result;
  // The provider's own error event has been relayed already; the gateway's is written now.
  if (result.error && result.error !== codec.upstreamError) {
    if (codec.errorFrame) res.end(codec.errorFrame(result.error));
    else writeSseError(res, result.error, dialect);
  }
  else {
    const last = codec.finish();
    hooks.tap?.(last);
    res.end(last);
  }
  return result;
}
