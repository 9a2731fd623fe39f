// Mistral takes only tool call ids of exactly 9 letters and digits, and refuses a conversation that
// replays others (a call another provider made, before a fallback or a model switch; a client's own ids).
// Such ids are mapped to 9 characters made from them, the same for a call and for its result, so the
// pairing holds; Mistral's own ids pass unchanged.
import { createHash } from 'node:crypto';

const VALID = /^[a-zA-Z0-9]{9}$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function mistralToolId(id: string): string {
  if (VALID.test(id)) return id;
  const digest = createHash('sha256').update(id).digest();
  let out = '';
  for (let i = 0; i < 9; i++) out += ALPHABET[digest[i]! % ALPHABET.length];
  return out;
}

/** The messages with every tool call id Mistral would refuse mapped; null when none had to change. */
export function withMistralToolIds(messages: unknown): Record<string, any>[] | null {
  if (!Array.isArray(messages)) return null;
  let changed = false;
  const out = messages.map((m: Record<string, any>) => {
    if (!m || typeof m !== 'object') return m;
    if (m.role === 'tool' && typeof m.tool_call_id === 'string' && !VALID.test(m.tool_call_id)) {
      changed = true;
      return { ...m, tool_call_id: mistralToolId(m.tool_call_id) };
    }
    if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.some((c: any) => typeof c?.id === 'string' && !VALID.test(c.id))) {
      changed = true;
      return { ...m, tool_calls: m.tool_calls.map((c: any) => (typeof c?.id === 'string' ? { ...c, id: mistralToolId(c.id) } : c)) };
    }
    return m;
  });
  return changed ? out : null;
}
