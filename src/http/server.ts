// The HTTP server: Fastify with raw-buffer bodies (JSON with or without a content type, as LiteLLM
// accepts), the body limit, the clocks a slow client is held to, and errors in the OpenAI
// envelope; and in front of it, the LLM routes served on node:http directly.
import { STATUS_CODES, createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { type ErrorDialect, GatewayError, errorBody, openaiErrorBody } from './errors.ts';
import { asGatewayError, errorHeaders, isStackOverflow, sendError } from './respond.ts';
import { DatabaseUnavailable } from '../store/db.ts';

/** A route that takes the raw request and response and the whole body (undefined when empty). */
export interface DirectRoute {
  dialect: ErrorDialect;
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined): void;
}

function bodyTooLarge(limit: number): GatewayError {
  return new GatewayError('body_too_large', `Request body is larger than the ${Math.round(limit / 1048576)} MB limit (general_settings.max_request_size_mb).`, { status: 413 });
}

/** Reads a whole body under the limit, then hands it on; a body over the limit is answered with 413. */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number, route: DirectRoute): void {
  if (Number(req.headers['content-length']) > limit) {
    sendError(res, bodyTooLarge(limit), {}, route.dialect);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      req.off('data', onData).off('end', onEnd);
      sendError(res, bodyTooLarge(limit), {}, route.dialect);
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = () => route.handle(req, res, size === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  // a client gone while sending: nothing to answer
  req.on('data', onData).on('end', onEnd).on('error', () => {});
}

/**
 * A query parameter given twice keeps its last value, as FastAPI (LiteLLM) reads a single-valued
 * parameter; the routes read strings, never lists. A malformed %-escape stays as sent; one that is
 * not UTF-8 becomes U+FFFD.
 */
function lastValueWins(query: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(query)) out[name] = value;
  return out;
}

/**
 * How long a client may hold a connection without doing its part, so that slow or silent clients
 * (slowloris) cannot use up the server. Node measures the header and request clocks from the first
 * byte of each request, not from the end of the previous answer: a short header clock does not cut
 * idle keep-alive connections, and neither clock covers the answer, which may stream for many minutes.
 */
export const CLIENT_TIMEOUTS = {
  /** Idle between requests: above the 60 s idle timeout of common load balancers, so they never reuse a closing socket. */
  keepAliveMs: 65_000,
  /** From a request's first byte (or a new connection) to the end of its headers: one write for any real client or proxy. */
  headersMs: 10_000,
  /** From a request's first byte to the end of its body (bodies up to max_request_size_mb, over slow uplinks). */
  requestMs: 300_000,
  /** How often Node looks for connections past these clocks (its default is 30 s). */
  checkEveryMs: 2_000,
} as const;

/**
 * `direct` maps paths (without query) to routes served before Fastify sees the request: on the hot
 * path of every LLM call the framework's request and reply objects, hooks and body parser cost about
 * a tenth of the gateway's CPU time. The same routes must also be registered on Fastify, which serves
 * them in every other case (a trailing slash, another method, and while closing, with a 503).
 */
export function createServer(opts: { bodyLimit: number; log: Logger; direct?: Map<string, DirectRoute> }): FastifyInstance {
  const direct = opts.direct ?? new Map<string, DirectRoute>();
  let closing = false;
  const app = Fastify({
    bodyLimit: opts.bodyLimit,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300, querystringParser: lastValueWins },
    // What the framework refuses before routing (a URL that does not decode, such as /v1/responses/%ff)
    // answers in the caller's envelope too, not in Fastify's own.
    frameworkErrors: (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const dialect = (req.url ?? '').startsWith('/v1/messages') ? 'anthropic' : 'openai';
      const err = new GatewayError('bad_request', error.message, { status: 400 });
      reply.code(err.status).headers(errorHeaders(err)).send(errorBody(dialect, err));
    },
    // What Node refuses before a request exists (a slow or silent client, headers over the limit,
    // bytes that are not HTTP) answers in the OpenAI envelope too: the path may not be read yet.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const err =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new GatewayError('client_timeout', `The request was not received in time: its headers within ${CLIENT_TIMEOUTS.headersMs / 1000} s, its body within ${CLIENT_TIMEOUTS.requestMs / 1000} s.`)
          : error.code === 'HPE_HEADER_OVERFLOW'
            ? new GatewayError('headers_too_large', 'The request headers are larger than 16 KB.')
            : new GatewayError('bad_request', `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'}).`);
      // Not while an answer is going out on this connection (Node's own rule, from the response it
      // tracks on the socket): bytes in the middle of one would corrupt it.
      const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (socket.writable && !inFlight?.headersSent) {
        const body = JSON.stringify(openaiErrorBody(err));
        socket.write(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      }
      socket.destroy();
    },
    serverFactory: (fastifyHandler) =>
      createHttpServer(
        {
          keepAliveTimeout: CLIENT_TIMEOUTS.keepAliveMs,
          headersTimeout: CLIENT_TIMEOUTS.headersMs,
          requestTimeout: CLIENT_TIMEOUTS.requestMs,
          connectionsCheckingInterval: CLIENT_TIMEOUTS.checkEveryMs,
        },
        (req, res) => {
          const url = req.url ?? '';
          const query = url.indexOf('?');
          const route = req.method === 'POST' && !closing ? direct.get(query === -1 ? url : url.slice(0, query)) : undefined;
          if (route) readBody(req, res, opts.bodyLimit, route);
          else fastifyHandler(req, res);
        },
      ),
  });
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setNotFoundHandler((req, reply) => {
    const err = new GatewayError('not_found', `Route ${req.method} ${req.url.split('?')[0]} not found.`);
    reply.code(404).send(openaiErrorBody(err));
  });

  app.setErrorHandler((error: FastifyError | GatewayError, req, reply) => {
    let err: GatewayError;
    if (error instanceof GatewayError) err = error;
    else if (isStackOverflow(error)) err = asGatewayError(error);
    else if (error instanceof DatabaseUnavailable) err = new GatewayError('db_unavailable', 'The database is unreachable; try again shortly.');
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      err = new GatewayError('body_too_large', `Request body is larger than the ${Math.round(opts.bodyLimit / 1048576)} MB limit (general_settings.max_request_size_mb).`, { status: 413 });
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      err = new GatewayError('bad_request', error.message, { status: error.statusCode });
    } else {
      opts.log.error({ err: error, url: req.url }, 'unhandled error');
      err = new GatewayError('internal', 'Internal error in the gateway.');
    }
    // Anthropic's routes answer in Anthropic's envelope, even for what the framework refuses (a body too large).
    const dialect = req.url.startsWith('/v1/messages') ? 'anthropic' : 'openai';
    reply.code(err.status).headers(errorHeaders(err)).send(errorBody(dialect, err));
  });
  return app;
}
