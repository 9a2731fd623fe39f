// LiteLLM's rerank API as an inbound dialect (POST /rerank, /v1/rerank, /v2/rerank): Cohere's request
// shape, a query and the documents to order by relevance to it. Answered by rerank models (Cohere's),
// priced per search unit (a query with up to 100 documents), which is what admission reserves.
import { GatewayError } from '../http/errors.ts';
import { checkRetries, parseJsonObject, parseModel, type LlmRequest } from './openai-chat.ts';

const bad = (param: string, message: string) => new GatewayError('bad_request', message, { param });

/** Documents a search unit covers, as Cohere bills. */
export const DOCUMENTS_PER_SEARCH_UNIT = 100;

export function parseRerank(raw: Buffer | undefined): LlmRequest {
  const body = parseJsonObject(raw);
  const model = parseModel(body);
  if (typeof body.query !== 'string' || body.query === '') throw bad('query', body.query === undefined ? 'Missing required field: query.' : 'query must be a non-empty string.');
  const docs = body.documents;
  if (docs === undefined) throw bad('documents', 'Missing required field: documents.');
  if (!Array.isArray(docs) || docs.length === 0) throw bad('documents', 'documents must be a non-empty array of strings or objects.');
  docs.forEach((d, i) => {
    if (typeof d !== 'string' && (d === null || typeof d !== 'object' || Array.isArray(d))) throw bad(`documents[${i}]`, `documents[${i}] must be a string or an object.`);
  });
  const topN = body.top_n;
  if (topN !== undefined && topN !== null && (!Number.isInteger(topN) || (topN as number) < 1)) throw bad('top_n', 'top_n must be a whole number, 1 or more.');
  const fields = body.rank_fields;
  if (fields !== undefined && fields !== null && (!Array.isArray(fields) || !fields.every((f) => typeof f === 'string'))) throw bad('rank_fields', 'rank_fields must be an array of field names.');
  if (body.return_documents !== undefined && body.return_documents !== null && typeof body.return_documents !== 'boolean') throw bad('return_documents', 'return_documents must be a boolean.');
  checkRetries(body);
  return { body, model, stream: false, embedding: true, searchUnits: Math.ceil(docs.length / DOCUMENTS_PER_SEARCH_UNIT) };
}
