// Token counts for answers that carry no usage (a cut stream, an upstream that sends none). Estimates
// only: the bill comes from the provider's usage whenever there is one. The tokenizer (its encodings
// are bundled, several MB) is loaded on first need.
let counter: ((text: string) => number) | null = null;
let loading: Promise<void> | null = null;

async function load(): Promise<void> {
  loading ??= import('gpt-tokenizer').then((m) => {
    counter = (text) => m.countTokens(text);
  });
  return loading;
}

/** Starts loading the tokenizer, for a caller that will want `countTokensNow` soon. */
export function warmTokenizer(): void {
  void load();
}

/** A count now when the tokenizer is loaded, else about four characters a token (an estimate either way). */
export function countTokensNow(text: string): number {
  if (text.length === 0) return 0;
  return counter ? counter(text) : Math.ceil(text.length / CHARS_PER_TOKEN);
}

export async function countTokens(text: string): Promise<number> {
  if (text.length === 0) return 0;
  await load();
  return counter!(text);
}

/** Binary payloads (images, documents) and signatures: not text a tokenizer would count. */
const NOT_TEXT = new Set(['image_url', 'source', 'signature', 'data']);

/** Text of a chat or messages request (system, messages, tools), as a tokenizer would see it. */
export function messagesText(body: Record<string, unknown>): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (!NOT_TEXT.has(k)) walk(x);
  };
  if (body.system) walk(body.system);
  walk(body.messages ?? body.input ?? body.prompt ?? '');
  if (body.tools) walk(JSON.stringify(body.tools));
  return parts.join('\n');
}

/** Characters of streamed text per token, for the running meter (OpenAI-like tokenizers: about 4). */
export const CHARS_PER_TOKEN = 4;
