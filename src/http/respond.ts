// Writing answers on the raw response, for the routes that bypass the framework's reply (the LLM
// routes hijack it to stream and to keep the hot path short).
import type { ServerResponse } from 'node:http';
import { type ErrorDialect, GatewayError, errorBody } from './errors.ts';

export function sendJson(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function errorHeaders(err: GatewayError): Record<string, string> {
  return err.type === 'budget_exceeded' ? { ...err.headers, 'x-should-retry': 'false' } : err.headers;
}

export function sendError(res: ServerResponse, err: GatewayError, headers: Record<string, string> = {}, dialect: ErrorDialect = 'openai'): void {
  sendJson(res, err.status, JSON.stringify(errorBody(dialect, err)), { ...headers, ...errorHeaders(err) });
}

/**
 * Turns anything thrown into a GatewayError; unknown errors become a 500 that hides the details.
 * A stack overflow is a body nested deeper than the walks over it (cache keys, translations, token
 * counts) can go: JSON.parse takes 10,000 levels, recursion does not. Bounding the depth up front
 * would cost every call a scan of its body; this costs nothing until it happens.
 */
export function asGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (isStackOverflow(err)) return new GatewayError('bad_request', 'The request body is nested too deeply to be processed.');
  return new GatewayError('internal', 'Internal error in the gateway; it is logged with this request id.');
}

export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && err.message === 'Maximum call stack size exceeded';
}
