// An OpenAI-format LLM call, read top to bottom: authenticate, parse, admit, route, dispatch, relay.
import type { ServerResponse } from 'node:http';
import { GatewayError } from '../http/errors.ts';
import { asGatewayError, sendError } from '../http/respond.ts';
import { writeSseError } from '../http/sse.ts';
import { resolveAlias } from '../policy/model-access.ts';
import { admit } from './admit.ts';
import { authenticate } from './authenticate.ts';
import type { Headers, PipelineContext } from './context.ts';
import { dispatch } from './dispatch.ts';
import { parseChat, parseEmbeddings, type LlmRequest } from './parse.ts';
import type { Endpoint } from '../providers/openai/request.ts';
import { providerHeaders, relayStream, relayWhole } from './relay.ts';

export interface Inbound {
  id: string;
  headers: Headers;
  body: Buffer | undefined;
  /** performance.now() when the handler started. */
  startedAt: number;
}

const PARSERS: Record<Endpoint, (raw: Buffer | undefined) => LlmRequest> = {
  'chat/completions': parseChat,
  embeddings: parseEmbeddings,
};

export async function handleLlm(ctx: PipelineContext, endpoint: Endpoint, req: Inbound, res: ServerResponse): Promise<void> {
  const base: Record<string, string> = { 'x-litellm-call-id': req.id };
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  };
  res.on('close', onClose);
  let streaming = false;
  try {
    const principal = await authenticate(ctx, req.headers);
    const call = PARSERS[endpoint](req.body);
    const group = resolveAlias(principal, call.model);
    const resolved = ctx.router.resolve(group);
    if (!resolved) {
      throw new GatewayError('unknown_model', `Invalid model name passed in model=${call.model}. Call GET /v1/models to list the models your key can use.`, {
        param: 'model',
      });
    }
    admit(principal, resolved.group, call.model);

    const retries = typeof call.body.num_retries === 'number' ? call.body.num_retries : ctx.config.numRetries;
    const beforeUpstream = performance.now();
    const attempt = await dispatch(
      ctx,
      { endpoint, group: resolved.group, model: group, body: call.body, raw: req.body!, stream: call.stream, headers: req.headers, signal: controller.signal },
      retries,
    );
    const preMs = beforeUpstream - req.startedAt;
    const headers: Record<string, string> = {
      ...providerHeaders(attempt.response.headers),
      ...base,
      'x-litellm-model-id': attempt.deployment.id,
      'x-litellm-model-group': resolved.group,
    };
    const type = attempt.response.headers['content-type'];
    if (call.stream && typeof type === 'string' && type.startsWith('text/event-stream')) {
      streaming = true;
      await relayStream(attempt, res, headers, preMs);
    } else {
      await relayWhole(attempt, res, headers, preMs);
    }
  } catch (err) {
    if (controller.signal.aborted && res.destroyed) return;
    const gerr = asGatewayError(err);
    if (gerr.name === 'internal') ctx.log.error({ err, requestId: req.id }, 'request failed');
    if (streaming || res.headersSent) writeSseError(res, gerr);
    else sendError(res, gerr, base);
  } finally {
    res.off('close', onClose);
  }
}
