// Rerank calls to Cohere's v2 rerank (POST {base}/v2/rerank). v2 takes documents as strings only and no
// longer returns them: objects are turned into text here (their rank_fields as `field: value` lines, as
// Cohere advises for structured documents, else their `text`, else their JSON), and return_documents is
// answered by the gateway from the request's documents. Billed per search unit (meta.billed_units).
import type { Deployment } from '../../config/load.ts';
import { GatewayError } from '../../http/errors.ts';
import { EMPTY_USAGE, type UsageRecord } from '../../metering/usage.ts';
import type { CallPlan, Translated, UpstreamRequest } from '../adapter.ts';
import { DOCUMENTS_PER_SEARCH_UNIT } from '../../dialects/rerank.ts';
import { parseJsonAnswer } from '../openai/passthrough.ts';
import { cohereHeaders, cohereUrl } from './request.ts';

type Obj = Record<string, any>;

function asText(doc: unknown, fields: string[] | null): string {
  if (typeof doc === 'string') return doc;
  const d = doc as Obj;
  if (fields) return fields.filter((f) => d[f] !== undefined).map((f) => `${f}: ${typeof d[f] === 'string' ? d[f] : JSON.stringify(d[f])}`).join('\n');
  return typeof d.text === 'string' ? d.text : JSON.stringify(d);
}

const asked = new WeakMap<UpstreamRequest, { texts: string[]; returnDocuments: boolean; units: number }>();

/** A count from the answer, as a whole number (0 when absent or not a count). */
const whole = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.ceil(v) : 0);

export function cohereRerankRequest(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest {
  const b = plan.body as Obj;
  if (b.max_chunks_per_doc !== undefined && b.max_chunks_per_doc !== null && !(plan.dropParams || b.drop_params === true)) {
    throw new GatewayError('bad_request', "max_chunks_per_doc is Cohere's v1 setting, which its v2 rerank does not take: send max_tokens_per_doc (or set drop_params to leave it out).", { param: 'max_chunks_per_doc' });
  }
  const fields = Array.isArray(b.rank_fields) && b.rank_fields.length > 0 ? (b.rank_fields as string[]) : null;
  const texts = (b.documents as unknown[]).map((doc) => asText(doc, fields));
  const body: Obj = { model: upstreamModel, query: b.query, documents: texts };
  if (typeof b.top_n === 'number') body.top_n = b.top_n;
  if (typeof b.max_tokens_per_doc === 'number') body.max_tokens_per_doc = b.max_tokens_per_doc;
  if (typeof b.priority === 'number') body.priority = b.priority;
  const up: UpstreamRequest = { url: cohereUrl(d.apiBase, 'rerank'), headers: cohereHeaders(d, false), body: JSON.stringify(body), clientWantsUsage: false, model: upstreamModel, rerank: true };
  asked.set(up, { texts, returnDocuments: b.return_documents === true, units: Math.ceil(texts.length / DOCUMENTS_PER_SEARCH_UNIT) });
  return up;
}

export function cohereRerankAnswer(body: Buffer, up: UpstreamRequest): Translated {
  const json = parseJsonAnswer(body);
  const call = asked.get(up);
  if (!json || !call || !Array.isArray(json.results)) return { body, usage: null, upstreamId: null };
  const billed = json.meta?.billed_units ?? {};
  const units = whole(billed.search_units);
  // Without Cohere's count, the units of the request's documents (what admission reserved), estimated.
  const usage: UsageRecord = { ...EMPTY_USAGE, input: whole(billed.input_tokens), searchUnits: units || call.units, estimated: units === 0 };
  if (!call.returnDocuments) return { body, usage, upstreamId: typeof json.id === 'string' ? json.id : null };
  const results = json.results.map((r: Obj) => (r.document === undefined && typeof r.index === 'number' && call.texts[r.index] !== undefined ? { ...r, document: { text: call.texts[r.index] } } : r));
  return { body: JSON.stringify({ ...json, results }), usage, upstreamId: typeof json.id === 'string' ? json.id : null };
}
