// Responses API clients of OpenAI's and Azure's own Responses API: the client's bytes go on with only
// the model rewritten (and the gateway's own fields taken out), the answer comes back as OpenAI wrote
// it. A stream's frames are relayed as they come, its output metered from the deltas, its usage read
// from response.completed (or .incomplete), which is held back until the spend record is journaled;
// response.failed and error events are the upstream's error, relayed as they are.
import type { Deployment } from '../../config/load.ts';
import { GatewayError } from '../../http/errors.ts';
import { THINKING_PREFIX } from '../../dialects/responses.ts';
import { frameData, splitFrames } from '../../http/sse.ts';
import { fromOpenAI, type UsageRecord } from '../../metering/usage.ts';
import type { CallPlan, StreamCodec, Translated, UpstreamRequest } from '../adapter.ts';
import { azureResponsesUrl } from '../azure/target.ts';
import { withModel } from '../raw-body.ts';
import { openaiStreamError, parseJsonAnswer, stringBody } from './passthrough.ts';
import { GATEWAY_FIELDS, setAuth } from './request.ts';

/** Providers whose own Responses API takes the client's request as it is. */
export const NATIVE_RESPONSES = new Set(['openai', 'azure']);

/** LiteLLM's fields for the gateway itself; `metadata` and `user` are the Responses API's own. */
const DROPPED = GATEWAY_FIELDS.filter((f) => f !== 'metadata');

/** Ids the gateway gives items it makes (32 hex digits: OpenAI's are longer). */
const MINTED = /^(?:msg|fc|rs)_[0-9a-f]{32}$/;

/**
 * A conversation the gateway kept (made through chat) continued on OpenAI: the reasoning items that
 * hold another model's thinking are left out (OpenAI cannot read them), and the ids the gateway gave
 * its items too (OpenAI would look them up). Null when nothing of the gateway's is there.
 */
function forOpenAI(input: unknown): unknown[] | null {
  if (!Array.isArray(input)) return null;
  const ours = (i: Record<string, any>) => (i?.type === 'reasoning' && typeof i.encrypted_content === 'string' && i.encrypted_content.startsWith(THINKING_PREFIX)) || (typeof i?.id === 'string' && MINTED.test(i.id));
  if (!input.some(ours)) return null;
  return input
    .filter((i) => !(i?.type === 'reasoning' && typeof i.encrypted_content === 'string' && i.encrypted_content.startsWith(THINKING_PREFIX)))
    .map((i) => {
      if (typeof i?.id !== 'string' || !MINTED.test(i.id)) return i;
      const { id: _, ...rest } = i;
      return rest;
    });
}

export function nativeResponsesRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const { body, raw } = plan;
  // OpenAI keeps conversations and items for the whole account the deployment's key is of: a key of
  // the gateway could read another's through them. The gateway's own ids (previous_response_id) are
  // scoped to their key; these are not, and are refused.
  if (body.conversation !== undefined && body.conversation !== null) {
    throw new GatewayError('bad_request', 'conversation is not served through this gateway (its state is shared by every key of the account): use previous_response_id.', { param: 'conversation' });
  }
  if (Array.isArray(body.input) && body.input.some((i: Record<string, unknown>) => i?.type === 'item_reference')) {
    throw new GatewayError('bad_request', 'input: item_reference is not served through this gateway (items are shared by every key of the account): send the items themselves.', { param: 'input' });
  }
  let bytes: Buffer | null = raw;
  let out = body;
  const input = forOpenAI(body.input);
  if (DROPPED.some((f) => f in body) || input) {
    out = { ...body };
    for (const f of DROPPED) delete out[f];
    if (input) out.input = input;
    bytes = null;
  }
  if (body.model !== upstreamModel) {
    bytes = bytes && withModel(bytes, String(body.model), upstreamModel);
    out = { ...out, model: upstreamModel };
  }
  const stream = body.stream === true;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json', 'accept-encoding': 'identity' };
  setAuth(headers, d);
  if (d.organization) headers['openai-organization'] = d.organization;
  for (const [k, v] of Object.entries(d.extraHeaders)) headers[k.toLowerCase()] = v;
  return {
    url: d.provider === 'azure' ? azureResponsesUrl(d) : `${d.apiBase}/responses`,
    headers,
    body: bytes ?? JSON.stringify(out),
    clientWantsUsage: true,
    model: upstreamModel,
    responses: true,
  };
}

export function nativeResponsesAnswer(body: Buffer): Translated {
  const json = parseJsonAnswer(body);
  const usage = json?.usage && typeof json.usage === 'object' ? fromOpenAI(json.usage) : null;
  return { body, usage, upstreamId: typeof json?.id === 'string' ? json.id : null, ...(json?.object === 'response' ? { response: json } : {}) };
}

/** The keys a run is scanned for: a delta's text (metered), and the events that end or fail the answer. */
const KEYS = /"delta"\s*:\s*"|"type"\s*:\s*"(response\.completed|response\.incomplete|response\.failed|error)"/g;
/** A frame to read: only these are parsed (a run often holds the whole answer, its deltas included). */
const ENDING = /^event: (?:response\.completed|response\.incomplete|response\.failed|error)\r?$/m;
const DATA_ENDING = /"type"\s*:\s*"(?:response\.completed|response\.incomplete|response\.failed|error)"/;

const EMPTY = Buffer.alloc(0);
const SEQUENCE = /"sequence_number"\s*:\s*(\d+)/g;

export class ResponsesPassthroughStream implements StreamCodec {
  usage: UsageRecord | null = null;
  upstreamId: string | null = null;
  outputChars = 0;
  upstreamError: GatewayError | null = null;
  complete = false;
  /** The Response of response.completed (or .incomplete). */
  response: Record<string, unknown> | null = null;
  private tail: Buffer | null = null;
  /** The last sequence number relayed, for the events of an error the gateway ends the stream with. */
  private seq = -1;

  push(run: Buffer): Buffer {
    // (what comes after the held response.completed, a [DONE], waits behind it)
    if (this.tail) {
      this.tail = Buffer.concat([this.tail, run]);
      return EMPTY;
    }
    const text = run.toString('latin1');
    const at = text.lastIndexOf('"sequence_number"');
    if (at >= 0) {
      SEQUENCE.lastIndex = at;
      const m = SEQUENCE.exec(text);
      if (m) this.seq = Number(m[1]);
    }
    let read = false;
    KEYS.lastIndex = 0;
    for (let m = KEYS.exec(text); m !== null; m = KEYS.exec(text)) {
      if (m[1] === undefined) this.outputChars += stringBody(text, m.index + m[0].length);
      else read = true;
    }
    if (!read) return run;
    const keep: Buffer[] = [];
    for (const frame of splitFrames(run)) {
      if (this.tail) {
        this.tail = Buffer.concat([this.tail, frame]);
        continue;
      }
      const head = frame.toString('latin1', 0, Math.min(frame.length, 64));
      // (the event line says which; a frame without one is looked into only if it names an ending type)
      const ending = head.startsWith('event:') ? ENDING.test(head) : DATA_ENDING.test(frame.toString('latin1'));
      if (!ending) {
        keep.push(frame);
        continue;
      }
      const data = frameData(frame);
      let ev: Record<string, any> | null = null;
      try {
        ev = data === null ? null : JSON.parse(data);
      } catch {
        // not JSON: relayed untouched
      }
      const r = ev?.response;
      if (typeof r?.id === 'string') this.upstreamId = r.id;
      if (ev?.type === 'response.completed' || ev?.type === 'response.incomplete') {
        if (r?.usage) this.usage = fromOpenAI(r.usage);
        if (r && typeof r === 'object') this.response = r;
        this.complete = true;
        this.tail = frame;
        continue;
      }
      if (ev?.type === 'response.failed') {
        if (r?.usage) this.usage = fromOpenAI(r.usage);
        this.upstreamError = openaiStreamError(r?.error);
      } else if (ev?.type === 'error') this.upstreamError = openaiStreamError(ev.error ?? ev);
      keep.push(frame);
    }
    return Buffer.concat(keep);
  }

  finish(): Buffer {
    return this.tail ?? EMPTY;
  }

  /** An error the gateway ends the stream with: response.failed, then the error event, numbered on. */
  errorFrame(err: GatewayError): string {
    const e = { code: err.type, message: err.message, param: err.param };
    const failed = { type: 'response.failed', sequence_number: ++this.seq, response: { id: this.upstreamId, object: 'response', status: 'failed', error: { code: err.type, message: err.message }, output: [] } };
    const error = { type: 'error', sequence_number: ++this.seq, ...e, error: { ...e, type: err.type } };
    return `event: response.failed\ndata: ${JSON.stringify(failed)}\n\nevent: error\ndata: ${JSON.stringify(error)}\n\n`;
  }
}
