// Responses API clients of OpenAI's and Azure's own Responses API: the client's bytes go on with only
// the model rewritten (and the gateway's own fields taken out), the answer comes back as OpenAI wrote
// it. A stream's frames are relayed as they come, its output metered from the deltas, its usage read
// from response.completed (or .incomplete), which is held back until the spend record is journaled;
// response.failed and error events are the upstream's error, relayed as they are.
import type { Deployment } from '../../config/load.ts';
import type { GatewayError } from '../../http/errors.ts';
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

export function nativeResponsesRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const { body, raw } = plan;
  let bytes: Buffer | null = raw;
  let out = body;
  if (DROPPED.some((f) => f in body)) {
    out = { ...body };
    for (const f of DROPPED) delete out[f];
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

export class ResponsesPassthroughStream implements StreamCodec {
  usage: UsageRecord | null = null;
  upstreamId: string | null = null;
  outputChars = 0;
  upstreamError: GatewayError | null = null;
  complete = false;
  /** The Response of response.completed (or .incomplete). */
  response: Record<string, unknown> | null = null;
  private tail: Buffer | null = null;

  push(run: Buffer): Buffer {
    const text = run.toString('latin1');
    let read = false;
    KEYS.lastIndex = 0;
    for (let m = KEYS.exec(text); m !== null; m = KEYS.exec(text)) {
      if (m[1] === undefined) this.outputChars += stringBody(text, m.index + m[0].length);
      else read = true;
    }
    if (!read) return run;
    const keep: Buffer[] = [];
    for (const frame of splitFrames(run)) {
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
    return this.tail ?? Buffer.alloc(0);
  }
}
