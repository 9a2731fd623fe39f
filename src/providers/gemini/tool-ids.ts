// Tool call ids for Gemini, which gives its function calls none (or ids of its own on some models):
// stable ones made from the answer, and Gemini's thought signature carried inside the id, LiteLLM's
// way (`call_<id>__thought__<signature>`), so that any client that sends the call back by its id sends
// the signature back too, as Gemini 3 requires for multi-step tool use.
import { createHash } from 'node:crypto';

const SEPARATOR = '__thought__';

/**
 * The id of a call: Gemini's own when it gave one, else made from the answer's id and the call's
 * place in it (the same answer streamed or not gets the same ids).
 */
export function toolCallId(responseId: string, candidate: number, index: number, own: unknown, signature: unknown): string {
  const base = typeof own === 'string' && own !== '' ? own : `call_${createHash('sha256').update(`${responseId}/${candidate}/${index}`).digest('hex').slice(0, 24)}`;
  return typeof signature === 'string' && signature !== '' ? `${base}${SEPARATOR}${signature}` : base;
}

/** A call id split into the id and the thought signature it carries, if any. */
export function splitSignature(id: string): { id: string; signature: string | null } {
  const at = id.indexOf(SEPARATOR);
  return at < 0 ? { id, signature: null } : { id: id.slice(0, at), signature: id.slice(at + SEPARATOR.length) };
}
