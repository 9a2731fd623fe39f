// OpenAI chat and embeddings requests: JSON parsed once, and the few fields the gateway relies on checked by hand
// (LLM bodies change monthly, so the rest is passed on as it is).
import { GatewayError } from '../http/errors.ts';

export function parseJsonObject(raw: Buffer | undefined): Record<string, unknown> {
  if (!raw || raw.length === 0) throw new GatewayError('bad_request', 'The request body is empty: send a JSON object.');
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new GatewayError('bad_request', `The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new GatewayError('bad_request', 'The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

/** An OpenAI-format LLM request, checked as far as the gateway relies on it. */
export interface LlmRequest {
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  /** Set when the gateway changed the body (the client's bytes can no longer be sent as they are). */
  rewritten?: boolean;
  /** An embedding (or a rerank): no output tokens to expect. */
  embedding?: boolean;
  /** A rerank: the search units it is expected to be billed (what admission reserves). */
  searchUnits?: number;
  /** The body's field for the most output tokens, where it is not max_tokens / max_completion_tokens. */
  maxTokensField?: string;
}

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

export function parseModel(body: Record<string, unknown>): string {
  const model = body.model;
  if (model === undefined) throw bad('model', 'Missing required field: model.');
  if (typeof model !== 'string' || model.length === 0) throw bad('model', 'model must be a non-empty string.');
  return model;
}

export function checkRetries(body: Record<string, unknown>): void {
  const retries = body.num_retries;
  if (retries !== undefined && (!Number.isInteger(retries) || (retries as number) < 0)) {
    throw bad('num_retries', 'num_retries must be a whole number, 0 or more.');
  }
}

export function parseChat(raw: Buffer | undefined): LlmRequest {
  const body = parseJsonObject(raw);
  const model = parseModel(body);
  const messages = body.messages;
  if (messages === undefined) throw bad('messages', 'Missing required field: messages.');
  if (!Array.isArray(messages)) throw bad('messages', 'messages must be an array of message objects.');
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad(`messages[${i}]`, `messages[${i}] must be an object.`);
    if (typeof (m as { role?: unknown }).role !== 'string') throw bad(`messages[${i}].role`, `messages[${i}].role must be a string.`);
  }
  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw bad('stream', 'stream must be a boolean.');
  const so = body.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) {
    throw bad('stream_options', 'stream_options must be an object.');
  }
  checkRetries(body);
  return { body, model, stream: stream === true };
}

export function parseEmbeddings(raw: Buffer | undefined): LlmRequest {
  const body = parseJsonObject(raw);
  const model = parseModel(body);
  const input = body.input;
  if (input === undefined) throw bad('input', 'Missing required field: input.');
  if (typeof input !== 'string' && !Array.isArray(input)) throw bad('input', 'input must be a string or an array.');
  checkRetries(body);
  return { body, model, stream: false, embedding: true };
}
