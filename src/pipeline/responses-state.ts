// The Responses API's state, kept by the gateway: previous_response_id works for every upstream. A
// response the gateway made from chat has its conversation rebuilt here (the stored items, that
// response's output, then the new input); one OpenAI's or Azure's own Responses API made goes on with
// its id (OpenAI keeps the conversation), to the deployment that made it. Either way the id must be the
// caller's own: another key's is answered as not found, as an id never seen is.
import type { Principal } from '../auth/principal.ts';
import type { Deployment } from '../config/load.ts';
import type { LlmRequest } from '../dialects/openai-chat.ts';
import { GatewayError } from '../http/errors.ts';
import { NATIVE_RESPONSES } from '../providers/openai/responses.ts';
import type { PipelineContext } from './context.ts';

type Obj = Record<string, any>;

export const ownerOf = (p: Principal): string => (p.kind === 'key' ? p.token : 'master');

export const notFound = (id: string, param: string | null = null) => new GatewayError('not_found', `Response with id '${id}' not found.`, { param });

/** `input` as a list of items (a string is one user message). */
export function inputItems(input: unknown): Obj[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  return Array.isArray(input) ? input : [];
}

/** The items a response gave, as input for the next turn (what a client would send back). */
function outputItems(response: Obj): Obj[] {
  return (Array.isArray(response.output) ? response.output : []).filter((o: Obj) => o && typeof o === 'object');
}

export interface ResponsesTurn {
  /** The conversation's items up to this turn's input (what the gateway keeps for the next turn). */
  items: Obj[];
  /** The deployment the previous response was made by, when its upstream keeps the conversation. */
  pin: string | null;
  /** Tokens of the conversation so far that the upstream adds to this call's prompt (it keeps them). */
  priorTokens: number;
}

/** Resolves previous_response_id (a 404 when it is not the caller's), rebuilding the input where the gateway keeps the state. */
export async function resolveTurn(ctx: PipelineContext, principal: Principal, call: LlmRequest): Promise<ResponsesTurn> {
  const body = call.body as Obj;
  const prev = body.previous_response_id;
  if (prev === undefined || prev === null) return { items: inputItems(body.input), pin: null, priorTokens: 0 };
  if (typeof prev !== 'string' || prev === '') throw new GatewayError('bad_request', 'previous_response_id must be a response id.', { param: 'previous_response_id' });
  const row = await ctx.responses.get(prev, ownerOf(principal));
  if (!row) throw notFound(prev, 'previous_response_id');
  if (row.native) {
    const u = row.response.usage ?? {};
    return { items: inputItems(body.input), pin: row.deployment_id, priorTokens: (Number(u.input_tokens) || 0) + (Number(u.output_tokens) || 0) };
  }
  const items = [...row.input_items, ...outputItems(row.response), ...inputItems(body.input)];
  const { previous_response_id: _, ...rest } = body;
  call.body = { ...rest, input: items };
  call.rewritten = true;
  return { items, pin: null, priorTokens: 0 };
}

/** Keeps a response for the next turn and the retrieval routes (written in a moment), unless the request said store: false. */
export function keepResponse(ctx: PipelineContext, principal: Principal, call: LlmRequest, group: string, d: Deployment, turn: ResponsesTurn, response: Obj | null | undefined): void {
  if (!response || typeof response.id !== 'string' || call.body.store === false) return;
  try {
    ctx.responses.save({
      id: response.id,
      owner: ownerOf(principal),
      model_group: group,
      deployment_id: d.id,
      native: NATIVE_RESPONSES.has(d.provider),
      input_items: turn.items,
      response,
      created_at: new Date().toISOString(),
    });
  } catch (err) {
    // The answer stands; only its later retrieval is lost (said in the log).
    ctx.log.warn({ err, responseId: response.id }, 'a response could not be kept for previous_response_id');
  }
}
