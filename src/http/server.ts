// The Fastify instance: raw-buffer bodies (JSON with or without a content type, as LiteLLM accepts),
// the body limit, keep-alive above load balancers' idle timeouts, and errors in the OpenAI envelope.
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import type { Logger } from 'pino';
import { GatewayError, errorBody, openaiErrorBody } from './errors.ts';
import { errorHeaders } from './respond.ts';
import { DatabaseUnavailable } from '../store/db.ts';

export function createServer(opts: { bodyLimit: number; log: Logger }): FastifyInstance {
  const app = Fastify({
    bodyLimit: opts.bodyLimit,
    logger: false,
    // Above the 60 s idle timeout of common load balancers, so they never reuse a closing socket.
    keepAliveTimeout: 65_000,
    // LLM answers can take many minutes: no server-side request deadline.
    requestTimeout: 0,
    connectionTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
  });
  app.server.headersTimeout = 66_000;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setNotFoundHandler((req, reply) => {
    const err = new GatewayError('not_found', `Route ${req.method} ${req.url.split('?')[0]} not found.`);
    reply.code(404).send(openaiErrorBody(err));
  });

  app.setErrorHandler((error: FastifyError | GatewayError, req, reply) => {
    let err: GatewayError;
    if (error instanceof GatewayError) err = error;
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
