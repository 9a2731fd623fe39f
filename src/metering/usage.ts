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
  /** Rerank: the search units billed (a query with up to 100 documents each); priced per unit. */
  searchUnits?: number;
}

export const EMPTY_USAGE: UsageRecord = Object.freeze({ input: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 0, reasoning: 0, estimated: false });

const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * OpenAI's convention: prompt_tokens include the cached ones (prompt_tokens_details.cached_tokens),
 * completion_tokens include the reasoning ones (xAI's do not). DeepSeek reports prompt_cache_hit_tokens
 * instead, Together a top-level cached_tokens.
 */
export function fromOpenAI(u: Record<string, any>): UsageRecord {
  const prompt = int(u.prompt_tokens ?? u.input_tokens);
  const details = u.prompt_tokens_details ?? u.input_tokens_details ?? {};
  const cacheRead = Math.min(prompt, int(details.cached_tokens ?? u.prompt_cache_hit_tokens ?? u.cached_tokens));
  const cacheWrite = Math.min(prompt - cacheRead, int(details.cache_creation_tokens ?? details.cache_write_tokens));
  let output = int(u.completion_tokens ?? u.output_tokens);
  const stated = int((u.completion_tokens_details ?? u.output_tokens_details ?? {}).reasoning_tokens);
  // xAI counts reasoning beside completion_tokens, not in them: its total says so (prompt + completion
  // + reasoning), and the reasoning is billed as output all the same.
  if (stated > 0 && int(u.total_tokens) === prompt + output + stated) output += stated;
  const reasoning = Math.min(output, stated);
  return { input: prompt - cacheRead - cacheWrite, cacheRead, cacheWrite, cacheWrite1h: 0, output, reasoning, estimated: false };
}

/**
 * Anthropic's convention: input_tokens exclude cache reads and writes, which come in their own fields;
 * cache writes are split by lifetime in `cache_creation` (5 minutes and 1 hour, priced differently).
 * Thinking is part of output_tokens and not reported apart.
 */
export function fromAnthropic(u: Record<string, any>): UsageRecord {
  const writes = int(u.cache_creation_input_tokens);
  const split = u.cache_creation ?? {};
  const cacheWrite1h = int(split.ephemeral_1h_input_tokens);
  const cacheWrite = split.ephemeral_5m_input_tokens !== undefined ? int(split.ephemeral_5m_input_tokens) : Math.max(0, writes - cacheWrite1h);
  return {
    input: int(u.input_tokens),
    cacheRead: int(u.cache_read_input_tokens),
    cacheWrite,
    cacheWrite1h,
    output: int(u.output_tokens),
    reasoning: 0,
    estimated: false,
  };
}

/**
 * Gemini's convention (AI Studio and Vertex AI): promptTokenCount includes the cached tokens
 * (cachedContentTokenCount); tool-use prompts (toolUsePromptTokenCount) are input too; thoughts
 * (thoughtsTokenCount) are billed as output but not part of candidatesTokenCount.
 */
export function fromGemini(u: Record<string, any>): UsageRecord {
  const prompt = int(u.promptTokenCount) + int(u.toolUsePromptTokenCount);
  const cacheRead = Math.min(prompt, int(u.cachedContentTokenCount));
  const reasoning = int(u.thoughtsTokenCount);
  return { input: prompt - cacheRead, cacheRead, cacheWrite: 0, cacheWrite1h: 0, output: int(u.candidatesTokenCount) + reasoning, reasoning, estimated: false };
}

/**
 * Cohere's convention: `billed_units` is what Cohere bills (its prompt template's tokens left out),
 * `tokens` what the model read and wrote; the billed count is the one metered, the other a fallback.
 */
export function fromCohere(u: Record<string, any>): UsageRecord {
  const billed = u.billed_units ?? {};
  const tokens = u.tokens ?? {};
  return {
    input: int(billed.input_tokens ?? tokens.input_tokens),
    cacheRead: 0,
    cacheWrite: 0,
    cacheWrite1h: 0,
    output: int(billed.output_tokens ?? tokens.output_tokens),
    reasoning: 0,
    estimated: false,
  };
}

/**
 * Anthropic streams give usage twice: in message_start, then cumulative in message_delta, which may
 * restate the input side or leave it null. Later non-null values win; nothing is summed.
 */
export function mergeAnthropicUsage(into: Record<string, unknown>, later: Record<string, unknown> | undefined): Record<string, unknown> {
  if (later) for (const [k, v] of Object.entries(later)) if (v !== null && v !== undefined) into[k] = v;
  return into;
}

/** A usage record in Anthropic's convention (the inverse of fromAnthropic). */
export function toAnthropic(u: UsageRecord): Record<string, unknown> {
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: u.cacheWrite + u.cacheWrite1h,
    cache_read_input_tokens: u.cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWrite, ephemeral_1h_input_tokens: u.cacheWrite1h },
    output_tokens: u.output,
  };
}

/** A usage record in OpenAI's convention (the inverse of fromOpenAI). */
export function toOpenAI(u: UsageRecord): Record<string, unknown> {
  const prompt = promptTokens(u);
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output,
    total_tokens: prompt + u.output,
    prompt_tokens_details: { cached_tokens: u.cacheRead, cache_creation_tokens: u.cacheWrite + u.cacheWrite1h },
    completion_tokens_details: { reasoning_tokens: u.reasoning },
  };
}

export function totalTokens(u: UsageRecord): number {
  return u.input + u.cacheRead + u.cacheWrite + u.cacheWrite1h + u.output;
}

export function promptTokens(u: UsageRecord): number {
  return u.input + u.cacheRead + u.cacheWrite + u.cacheWrite1h;
}
