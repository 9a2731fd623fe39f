// POST /chat/completions, read top to bottom: authenticate, parse, admit, route, dispatch, relay.
import type { ServerResponse } from 'node:http';
import { GatewayError } from '../http/errors.ts';
import { asGatewayError, sendError } from '../http/respond.ts';
import { writeSseError } from '../http/sse.ts';
import { resolveAlias } from '../policy/model-access.ts';
import { admit } from './admit.ts';
import { authenticate } from './authenticate.ts';
import type { Headers, PipelineContext } from './context.ts';
import { dispatch } from './dispatch.ts';
import { parseChat } from './parse.ts';
import { providerHeaders, relayStream, relayWhole } from './relay.ts';

export interface Inbound {
  id: string;
  headers: Headers;
  body: Buffer | undefined;
  /** performance.now() when the handler started. */
  startedAt: number;
}

export async function handleChat(ctx: PipelineContext, req: Inbound, res: ServerResponse): Promise<void> {
  const base: Record<string, string> = { 'x-litellm-call-id': req.id };
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  };
  res.on('close', onClose);
  let streaming = false;
  try {
    const principal = await authenticate(ctx, req.headers);
    const chat = parseChat(req.body);
    const group = resolveAlias(principal, chat.model);
    const resolved = ctx.router.resolve(group);
    if (!resolved) {
      throw new GatewayError('unknown_model', `Invalid model name passed in model=${chat.model}. Call GET /v1/models to list the models your key can use.`, {
        param: 'model',
      });
    }
    admit(principal, resolved.group, chat.model);
    if (group !== chat.model) chat.body.model = group;

    const retries = typeof chat.body.num_retries === 'number' ? chat.body.num_retries : ctx.config.numRetries;
    const beforeUpstream = performance.now();
    const attempt = await dispatch(
      ctx,
      { group: resolved.group, body: chat.body, raw: req.body!, stream: chat.stream, headers: req.headers, signal: controller.signal },
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
    if (chat.stream && typeof type === 'string' && type.startsWith('text/event-stream')) {
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
