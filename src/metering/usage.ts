// One usage record for every provider's convention: uncached input, cache reads, cache writes
// (5-minute and 1-hour), output (reasoning included) and the reasoning part of it.

export interface UsageRecord {
  input: number;
  cacheRead: number;
  cacheWrite: number;
  cacheWrite1h: number;
  output: number;
  reasoning: number;
  /** True when counted by the gateway, not reported by the provider. */
  estimated: boolean;
}

export const EMPTY_USAGE: UsageRecord = Object.freeze({ input: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 0, reasoning: 0, estimated: false });

const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * OpenAI's convention: prompt_tokens include the cached ones (prompt_tokens_details.cached_tokens),
 * completion_tokens include the reasoning ones. DeepSeek reports prompt_cache_hit_tokens instead.
 */
export function fromOpenAI(u: Record<string, any>): UsageRecord {
  const prompt = int(u.prompt_tokens ?? u.input_tokens);
  const details = u.prompt_tokens_details ?? u.input_tokens_details ?? {};
  const cacheRead = Math.min(prompt, int(details.cached_tokens ?? u.prompt_cache_hit_tokens));
  const cacheWrite = Math.min(prompt - cacheRead, int(details.cache_creation_tokens ?? details.cache_write_tokens));
  const output = int(u.completion_tokens ?? u.output_tokens);
  const reasoning = Math.min(output, int((u.completion_tokens_details ?? u.output_tokens_details ?? {}).reasoning_tokens));
  return { input: prompt - cacheRead - cacheWrite, cacheRead, cacheWrite, cacheWrite1h: 0, output, reasoning, estimated: false };
}

export function totalTokens(u: UsageRecord): number {
  return u.input + u.cacheRead + u.cacheWrite + u.cacheWrite1h + u.output;
}

export function promptTokens(u: UsageRecord): number {
  return u.input + u.cacheRead + u.cacheWrite + u.cacheWrite1h;
}
