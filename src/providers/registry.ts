// Providers this version can call: Anthropic's Messages API, Google's Gemini (AI Studio and Vertex AI, where
// Claude is served too), AWS Bedrock, Cohere, Azure OpenAI and the OpenAI-compatible ones. Each entry
// says which wire format it speaks, where it lives by default and which environment variables LiteLLM
// reads for it.

/** The wire formats: OpenAI chat completions, Anthropic messages, Gemini's generateContent, Bedrock's Converse, Cohere's v2 chat. */
export type Wire = 'openai' | 'anthropic' | 'gemini' | 'bedrock' | 'cohere';

export interface ProviderSpec {
  wire: Wire;
  /** Default API base; null when the operator must give `api_base`. */
  defaultBase: string | null;
  keyEnv: string | null;
  /** Other names LiteLLM also reads the key from, after keyEnv. */
  keyEnvAliases?: readonly string[];
  baseEnv: string | null;
  /** Whether the upstream accepts `stream_options` (else it is never sent, the client's neither). */
  streamUsage: boolean;
  /** Where LiteLLM reads the API version from when `api_version` is not given. */
  versionEnv?: string;
}

const openaiCompatible = (defaultBase: string | null, keyEnv: string | null, baseEnv: string | null = null): ProviderSpec => ({
  wire: 'openai',
  defaultBase,
  keyEnv,
  baseEnv,
  streamUsage: true,
});

export const PROVIDERS: Record<string, ProviderSpec> = {
  anthropic: { wire: 'anthropic', defaultBase: 'https://api.anthropic.com', keyEnv: 'ANTHROPIC_API_KEY', baseEnv: 'ANTHROPIC_API_BASE', streamUsage: false },
  openai: openaiCompatible('https://api.openai.com/v1', 'OPENAI_API_KEY', 'OPENAI_API_BASE'),
  // Google AI Studio: generateContent, the key in x-goog-api-key (gemini/target.ts has the addresses).
  gemini: { wire: 'gemini', defaultBase: 'https://generativelanguage.googleapis.com', keyEnv: 'GEMINI_API_KEY', baseEnv: 'GEMINI_API_BASE', streamUsage: false },
  // Vertex AI: Gemini models in the same format, Claude models in Anthropic's (vertex_ai/claude-...),
  // with Google Cloud credentials instead of a key; the address depends on project and location.
  vertex_ai: { wire: 'gemini', defaultBase: null, keyEnv: null, baseEnv: null, streamUsage: false },
  // AWS Bedrock: the Converse API for every model family, InvokeModel for Claude (bedrock/invoke/), signed
  // with AWS credentials or called with a Bedrock API key; region, address and credentials in bedrock/settings.ts.
  bedrock: { wire: 'bedrock', defaultBase: null, keyEnv: null, baseEnv: null, streamUsage: false },
  // Cohere's v2 API (chat, embed, rerank); cohere_chat/ is LiteLLM's other name for it.
  cohere: { wire: 'cohere', defaultBase: 'https://api.cohere.com', keyEnv: 'COHERE_API_KEY', baseEnv: 'COHERE_API_BASE', streamUsage: false },
  cohere_chat: { wire: 'cohere', defaultBase: 'https://api.cohere.com', keyEnv: 'COHERE_API_KEY', baseEnv: 'COHERE_API_BASE', streamUsage: false },
  // OpenAI's wire format at Azure's addresses (azure/target.ts), its key in an api-key header.
  azure: { ...openaiCompatible(null, 'AZURE_API_KEY', 'AZURE_API_BASE'), versionEnv: 'AZURE_API_VERSION' },
  // Azure AI Foundry's models (Llama, Mistral, DeepSeek, Phi, ... and OpenAI's) in OpenAI's format.
  azure_ai: openaiCompatible(null, 'AZURE_AI_API_KEY', 'AZURE_AI_API_BASE'),
  custom_openai: openaiCompatible(null, 'OPENAI_API_KEY'),
  openai_like: openaiCompatible(null, null),
  litellm_proxy: openaiCompatible(null, 'LITELLM_PROXY_API_KEY', 'LITELLM_PROXY_API_BASE'),
  hosted_vllm: openaiCompatible(null, 'HOSTED_VLLM_API_KEY', 'HOSTED_VLLM_API_BASE'),
  ollama: openaiCompatible('http://localhost:11434/v1', null, 'OLLAMA_API_BASE'),
  ollama_chat: openaiCompatible('http://localhost:11434/v1', null, 'OLLAMA_API_BASE'),
  lm_studio: openaiCompatible('http://localhost:1234/v1', 'LM_STUDIO_API_KEY', 'LM_STUDIO_API_BASE'),
  groq: openaiCompatible('https://api.groq.com/openai/v1', 'GROQ_API_KEY'),
  deepseek: openaiCompatible('https://api.deepseek.com/v1', 'DEEPSEEK_API_KEY'),
  // Mistral refuses stream_options (422 extra_forbidden) and sends usage on its last chunk unasked.
  mistral: { ...openaiCompatible('https://api.mistral.ai/v1', 'MISTRAL_API_KEY'), streamUsage: false },
  // (the first of LiteLLM's names for their keys, then the others, as it looks them up)
  together_ai: { ...openaiCompatible('https://api.together.xyz/v1', 'TOGETHER_API_KEY', 'TOGETHER_AI_API_BASE'), keyEnvAliases: ['TOGETHER_AI_API_KEY', 'TOGETHERAI_API_KEY', 'TOGETHER_AI_TOKEN'] },
  fireworks_ai: { ...openaiCompatible('https://api.fireworks.ai/inference/v1', 'FIREWORKS_API_KEY', 'FIREWORKS_API_BASE'), keyEnvAliases: ['FIREWORKS_AI_API_KEY', 'FIREWORKSAI_API_KEY', 'FIREWORKS_AI_TOKEN'] },
  openrouter: openaiCompatible('https://openrouter.ai/api/v1', 'OPENROUTER_API_KEY'),
  xai: openaiCompatible('https://api.x.ai/v1', 'XAI_API_KEY'),
  perplexity: openaiCompatible('https://api.perplexity.ai', 'PERPLEXITYAI_API_KEY'),
  // DeepInfra sends usage on its last chunk unasked; stream_options is not among what it documents taking.
  deepinfra: { ...openaiCompatible('https://api.deepinfra.com/v1/openai', 'DEEPINFRA_API_KEY', 'DEEPINFRA_API_BASE'), streamUsage: false },
  cerebras: openaiCompatible('https://api.cerebras.ai/v1', 'CEREBRAS_API_KEY', 'CEREBRAS_API_BASE'),
};

/** Providers LiteLLM knows that need their own adapter; they come in later versions. */
export const PLANNED_PROVIDERS = new Set([
  'sagemaker', 'huggingface', 'replicate', 'watsonx',
]);

/** Splits `provider/model`; a bare model name is an OpenAI model, as in LiteLLM. */
export function splitProviderModel(model: string): { provider: string; name: string } {
  const slash = model.indexOf('/');
  if (slash > 0) {
    const provider = model.slice(0, slash);
    if (provider in PROVIDERS || PLANNED_PROVIDERS.has(provider)) return { provider, name: model.slice(slash + 1) };
  }
  return { provider: 'openai', name: model };
}
