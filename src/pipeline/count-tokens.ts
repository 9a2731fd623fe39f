// POST /v1/messages/count_tokens: Anthropic's own count when the model group has an Anthropic
// deployment (the body passed on with the model rewritten), else the gateway's tokenizer estimate.
// Free: no spend record, no budget, no rate limit.
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { parseCountTokens } from '../dialects/anthropic-messages.ts';
import { GatewayError } from '../http/errors.ts';
import { asGatewayError, sendError, sendJson } from '../http/respond.ts';
import { countTokens, messagesText } from '../metering/estimate.ts';
import { resolveAlias } from '../policy/model-access.ts';
import { anthropicBody, anthropicHeaders, anthropicUrl } from '../providers/anthropic/request.ts';
import { dispatcherFor } from '../providers/http-client.ts';
import { upstreamModelFor } from '../router/router.ts';
import { admitModel } from './admit.ts';
import { authenticate } from './authenticate.ts';
import { checkKeyRoute } from '../auth/routes.ts';
import type { PipelineContext } from './context.ts';
import type { Inbound } from './handle.ts';

const COUNT_TIMEOUT_MS = 30_000;

export async function handleCountTokens(ctx: PipelineContext, req: Inbound, res: ServerResponse): Promise<void> {
  const base = { 'x-litellm-call-id': req.id };
  try {
    const principal = await authenticate(ctx, req.headers);
    if (principal.kind === 'key' && principal.key.allowed_routes !== null) checkKeyRoute(principal.key, '/v1/messages/count_tokens');
    const call = parseCountTokens(req.body);
    const group = resolveAlias(principal, call.model);
    const resolved = ctx.router.resolve(group);
    if (!resolved) throw new GatewayError('unknown_model', `Invalid model name passed in model=${call.model}.`, { param: 'model' });
    admitModel(ctx, principal, resolved.group, call.model);
    // (Claude on Vertex AI counts at another address, with a token: the gateway's estimate serves there)
    const d = resolved.deployments.find((x) => x.wire === 'anthropic' && !x.google && !x.aws);
    if (!d) {
      const tokens = await countTokens(messagesText(call.body));
      sendJson(res, 200, JSON.stringify({ input_tokens: tokens }), base);
      return;
    }
    const url = new URL(anthropicUrl(d.apiBase, 'messages/count_tokens'));
    const model = upstreamModelFor(d, resolved.capture);
    // count_tokens takes neither max_tokens nor stream (parsing added them).
    const { max_tokens: _m, stream: _s, ...body } = anthropicBody(call.body, model) ?? call.body;
    const upstream = await request(url, {
      method: 'POST',
      headers: anthropicHeaders(d, req.headers, false),
      body: JSON.stringify(body),
      dispatcher: dispatcherFor(url.origin),
      headersTimeout: COUNT_TIMEOUT_MS,
      bodyTimeout: COUNT_TIMEOUT_MS,
    }).catch((err: Error) => {
      throw new GatewayError('upstream_unreachable', `Could not reach anthropic for model ${d.modelName} (${(err as { code?: string }).code ?? err.name}).`);
    });
    // Anthropic's answer, its errors included, is already in the client's dialect.
    sendJson(res, upstream.statusCode, Buffer.from(await upstream.body.arrayBuffer()), base);
  } catch (err) {
    const gerr = asGatewayError(err);
    if (gerr.name === 'internal') ctx.log.error({ err, requestId: req.id }, 'count_tokens failed');
    sendError(res, gerr, base, 'anthropic');
  }
}
