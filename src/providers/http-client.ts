// One capped undici Agent per upstream origin. HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured
// (EnvHttpProxyAgent); NODE_EXTRA_CA_CERTS is read by Node itself at start.
// Timeouts are set per request from the deployment's config, so the agents' own 300 s defaults are off.
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';

const agents = new Map<string, Dispatcher>();

const AGENT_OPTIONS = {
  connections: 4096,
  pipelining: 1,
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 600_000,
  headersTimeout: 0,
  bodyTimeout: 0,
  connect: { timeout: 10_000 },
} as const;

function proxyConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy);
}

export function dispatcherFor(origin: string): Dispatcher {
  let d = agents.get(origin);
  if (!d) {
    d = proxyConfigured(process.env) ? new EnvHttpProxyAgent(AGENT_OPTIONS) : new Agent(AGENT_OPTIONS);
    agents.set(origin, d);
  }
  return d;
}

export async function closeAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.allSettled(all.map((a) => a.close()));
}

/** The parts of a call's abort that `send` listens to (the pipeline's Abort). */
export interface AbortSource {
  readonly aborted: boolean;
  readonly reason: unknown;
  once(event: 'abort', listener: () => void): unknown;
  off(event: 'abort', listener: () => void): unknown;
}

/** Who reads an answer's body as it arrives. */
export interface BodyReader {
  data(chunk: Buffer): void;
  end(): void;
  error(err: unknown): void;
}

/** Bytes an answer may hold before anyone reads it: beyond them the socket is left unread. */
const UNREAD_LIMIT = 64 * 1024;

/**
 * An answer's body as undici's parser hands it over, without a stream: read once, whole (`bytes`,
 * `text`) or chunk by chunk (`read`, with `pause`/`resume` for backpressure); `destroy` aborts the call.
 */
export class UpstreamBody {
  private controller: Dispatcher.DispatchController | null = null;
  private reader: BodyReader | null = null;
  private unread: Buffer[] = [];
  private unreadBytes = 0;
  private pausedUnread = false;
  private ended = false;
  private failure: { err: unknown } | null = null;
  /** Who waits for the first chunk (arrived()), and what they all wait on. */
  private waiter: { resolve: (data: boolean) => void; reject: (err: unknown) => void; promise: Promise<boolean> } | null = null;
  destroyed = false;

  /** @internal the parser's side */
  started(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  /** @internal */
  push(chunk: Buffer): void {
    if (this.reader) return this.reader.data(chunk);
    this.unread.push(chunk);
    this.unreadBytes += chunk.length;
    if (this.waiter) {
      this.waiter.resolve(true);
      this.waiter = null;
    }
    if (this.unreadBytes > UNREAD_LIMIT && !this.pausedUnread) {
      this.pausedUnread = true;
      this.controller?.pause();
    }
  }

  /** @internal */
  finish(err?: unknown): void {
    if (this.ended || this.failure) return;
    if (err === undefined) this.ended = true;
    else this.failure = { err };
    if (this.waiter) {
      if (err === undefined) this.waiter.resolve(false);
      else this.waiter.reject(err);
      this.waiter = null;
    }
    if (!this.reader) return;
    if (err === undefined) this.reader.end();
    else this.reader.error(err);
  }

  /** Hands the body to `reader`: what arrived before first, then each chunk as it comes, then its end or error. */
  read(reader: BodyReader): void {
    if (this.reader) throw new Error('An answer body is read once.');
    this.reader = reader;
    const unread = this.unread;
    this.unread = [];
    this.unreadBytes = 0;
    for (const chunk of unread) reader.data(chunk);
    if (this.ended) reader.end();
    else if (this.failure) reader.error(this.failure.err);
    else if (this.pausedUnread) {
      this.pausedUnread = false;
      this.controller?.resume();
    }
  }

  /**
   * Resolves once the first chunk is here (true) or the body ended without one (false); rejects when
   * it failed first. Before anyone reads it: a stream is not answered until it has begun.
   */
  arrived(): Promise<boolean> {
    if (this.unread.length > 0) return Promise.resolve(true);
    if (this.ended) return Promise.resolve(false);
    if (this.failure) return Promise.reject(this.failure.err);
    if (this.waiter) return this.waiter.promise;
    let resolve!: (data: boolean) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<boolean>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.waiter = { resolve, reject, promise };
    return promise;
  }

  bytes(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.read({
        data: (chunk) => chunks.push(chunk),
        end: () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)),
        error: reject,
      });
    });
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  pause(): void {
    this.controller?.pause();
  }

  resume(): void {
    this.controller?.resume();
  }

  destroy(err: Error = new Error('The answer was not read to its end.')): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.controller?.abort(err);
  }
}

export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: UpstreamBody;
}

/**
 * Sends a request through undici's dispatcher with a handler of our own: the answer's chunks go
 * straight from the parser to the reader, without the Readable stream, the AsyncResource and the
 * signal plumbing of undici's `request()` (5-10 µs a call). Resolves with the answer's head; rejects
 * with undici's error, or the abort's reason, when no head came.
 */
export function send(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, abort: AbortSource): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const body = new UpstreamBody();
    let head = false;
    // (the pipeline's abort reasons are errors: its deadline's, or the client's going away; a call not
    // started yet is aborted when it starts)
    const onAbort = () => body.destroy(abort.reason as Error);
    const unlisten = () => abort.off('abort', onAbort);
    abort.once('abort', onAbort);
    dispatcher.dispatch(options, {
      onRequestStart(c) {
        body.started(c);
        if (abort.aborted) c.abort(abort.reason as Error);
      },
      onResponseStart(_c, statusCode, headers) {
        head = true;
        resolve({ statusCode, headers, body });
      },
      onResponseData(_c, chunk) {
        body.push(chunk);
      },
      onResponseEnd() {
        unlisten();
        body.finish();
      },
      onResponseError(_c, err) {
        unlisten();
        if (head) body.finish(err);
        else reject(err);
      },
    });
  });
}
