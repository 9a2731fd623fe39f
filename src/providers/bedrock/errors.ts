// Bedrock's errors as LiteLLM's: the error's name (the x-amzn-ErrorType header, or an event stream's
// :exception-type) with its documented status, so that throttling and timeouts are retried and fall
// back, a prompt over the model's window is a ContextWindowExceededError, and a refusal by the account's
// rights or the request's shape is not retried.
import { GatewayError } from '../../http/errors.ts';

/** The statuses AWS documents for bedrock-runtime's errors (for stream exceptions, which carry none). */
const STATUS: Record<string, number> = {
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  ModelTimeoutException: 408,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  ModelErrorException: 424,
  ModelStreamErrorException: 424,
  UnrecognizedClientException: 403,
};

/** What Bedrock says when the prompt does not fit the model (LiteLLM looks for the same words). */
const TOO_LONG = /too many tokens|expected maxLength:|input is too long|prompt is too long|prompt: length: 1\.\.|too many input tokens|exceeds the maximum (?:context|number of tokens)/i;

/** The error's name as botocore reads it: before any `:`, after any `#` (`ValidationException:http://...`). */
export function errorName(raw: string): string {
  const name = raw.split(':')[0]!;
  const hash = name.lastIndexOf('#');
  return hash >= 0 ? name.slice(hash + 1) : name;
}

/** A Bedrock error, from its name (either case: streams name them throttlingException), message and status. */
export function bedrockError(model: string, rawName: string, message: string, status?: number): GatewayError {
  const name = errorName(rawName);
  const canonical = name.charAt(0).toUpperCase() + name.slice(1);
  const code = status ?? STATUS[canonical] ?? 500;
  const text = `bedrock error (model ${model}): ${canonical ? `${canonical}: ` : ''}${message}`;
  if (code === 400 && TOO_LONG.test(message)) {
    return new GatewayError('context_window_exceeded', `litellm.ContextWindowExceededError: ${text}`, { code: 'context_length_exceeded' });
  }
  const type =
    code === 429 ? 'rate_limit_error' : code === 408 ? 'timeout_error' : code === 403 ? 'permission_error' : code === 404 ? 'not_found_error' : code < 500 ? 'invalid_request_error' : 'api_error';
  return new GatewayError('upstream_error', text, { status: code, type, code: String(code) });
}

/** The error of a Bedrock HTTP answer: its name in x-amzn-errortype (else the body's __type / code), its message in the body. */
export function bedrockHttpError(model: string, status: number, headers: Record<string, string | string[] | undefined>, text: string): GatewayError {
  let body: Record<string, unknown> = {};
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object') body = v;
  } catch {
    // not JSON: the text is the message
  }
  const header = headers['x-amzn-errortype'];
  const name = (typeof header === 'string' ? header : '') || String(body.__type ?? body.code ?? body.Code ?? '');
  const message = String(body.message ?? body.Message ?? (text.slice(0, 2000) || `status ${status}`));
  return bedrockError(model, name, message, status);
}
