// Prices as integer pico-dollars (1e-12 USD) per token, so that real prices (0.01875 USD per million
// tokens = 18,750 pico-dollars) stay exact. Sources, first match wins field by field: the deployment's
// config (litellm_params, then model_info), a LiteLLM-format price file when one is loaded, then the
// catalog of @pydantic/genai-prices (by model_info.base_model, then the upstream model name).
import { calcPrice } from '@pydantic/genai-prices';
import type { Deployment } from '../config/load.ts';

export interface Price {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  cacheWrite1h: number;
  /** null: reasoning tokens cost the output price. */
  reasoning: number | null;
  /** Per search unit (a rerank query of up to 100 documents), for rerank models. */
  perQuery: number;
  /** Prices that apply when the prompt reaches `start` tokens (long-context pricing). */
  tiers: { start: number; input: number; output: number; cacheRead: number; cacheWrite: number; cacheWrite1h: number }[];
  source: 'config' | 'file' | 'catalog' | 'none';
}

export const NO_PRICE: Price = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, reasoning: null, perQuery: 0, tiers: [], source: 'none' }) as Price;

/** USD per token (LiteLLM's unit) to pico-dollars. */
export function perTokenToPico(usd: number): number {
  return Math.round(usd * 1e12);
}

/** USD per million tokens (the catalog's unit) to pico-dollars per token. */
export function perMillionToPico(usd: number): number {
  return Math.round(usd * 1e6);
}

/** Our provider names to the catalog's. */
const CATALOG_PROVIDER: Record<string, string> = {
  openai: 'openai',
  groq: 'groq',
  deepseek: 'deepseek',
  mistral: 'mistral',
  together_ai: 'together',
  fireworks_ai: 'fireworks',
  openrouter: 'openrouter',
  xai: 'x-ai',
  perplexity: 'perplexity',
  cerebras: 'cerebras',
  anthropic: 'anthropic',
  gemini: 'google',
  azure: 'azure',
  cohere: 'cohere',
  cohere_chat: 'cohere',
  // Bedrock's own prices (its regional endpoints cost more than global ones for some models).
  bedrock: 'aws',
};

/** Vertex AI serves Google's models and partners' (Claude): each priced under its maker. */
const catalogProvider = (provider: string, model: string): string | undefined =>
  provider === 'vertex_ai' ? (/^claude/.test(model) ? 'anthropic' : 'google') : CATALOG_PROVIDER[provider];

/**
 * Rerank models, which the catalog does not price: USD per search unit, from Cohere's price list
 * ($2.00 per 1,000 searches for Rerank 3.5 and 3.0, $2.50 for Rerank 4 Pro).
 */
const RERANK_PRICES: Record<string, number> = {
  'rerank-v3.5': 0.002,
  'rerank-english-v3.0': 0.002,
  'rerank-multilingual-v3.0': 0.002,
  'rerank-v4.0-fast': 0.002,
  'rerank-v4.0-pro': 0.0025,
};

function rerankPrice(model: string): Price | null {
  const usd = RERANK_PRICES[model.replace(/^cohere[./]/, '').replace(/:\d+$/, '')];
  return usd === undefined ? null : { ...NO_PRICE, tiers: [], perQuery: perTokenToPico(usd), source: 'catalog' };
}

type Tiered = number | { base: number; tiers: { start: number; price: number }[] } | undefined;

function fromCatalog(provider: string, model: string): Price | null {
  let r = null;
  try {
    const providerId = catalogProvider(provider, model);
    r = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, providerId ? { providerId } : undefined);
    r ??= calcPrice({ input_tokens: 0, output_tokens: 0 }, model);
  } catch {
    r = null;
  }
  if (!r) return null;
  const mp = r.model_price as Record<string, Tiered>;
  const base = (v: Tiered) => (v === undefined ? undefined : typeof v === 'number' ? perMillionToPico(v) : perMillionToPico(v.base));
  const input = base(mp.input_mtok) ?? 0;
  const price: Price = {
    input,
    output: base(mp.output_mtok) ?? 0,
    cacheRead: base(mp.cache_read_mtok) ?? input,
    cacheWrite: base(mp.cache_write_mtok) ?? input,
    cacheWrite1h: base(mp.cache_write_1h_mtok) ?? base(mp.cache_write_mtok) ?? input,
    reasoning: null,
    perQuery: 0,
    tiers: [],
    source: 'catalog',
  };
  const starts = new Set<number>();
  for (const v of Object.values(mp)) if (v && typeof v === 'object') for (const t of v.tiers) starts.add(t.start);
  for (const start of [...starts].sort((a, b) => a - b)) {
    const at = (v: Tiered, fallback: number) => {
      if (v === undefined) return fallback;
      if (typeof v === 'number') return perMillionToPico(v);
      const tier = [...v.tiers].reverse().find((t) => t.start <= start);
      return perMillionToPico(tier ? tier.price : v.base);
    };
    price.tiers.push({
      start,
      input: at(mp.input_mtok, price.input),
      output: at(mp.output_mtok, price.output),
      cacheRead: at(mp.cache_read_mtok, price.cacheRead),
      cacheWrite: at(mp.cache_write_mtok, price.cacheWrite),
      cacheWrite1h: at(mp.cache_write_1h_mtok, price.cacheWrite1h),
    });
  }
  return price;
}

/** A LiteLLM model_prices_and_context_window.json entry (USD per token). */
export interface LitellmPriceEntry {
  input_cost_per_token?: number;
  output_cost_per_token?: number;
  cache_read_input_token_cost?: number;
  cache_creation_input_token_cost?: number;
  cache_creation_input_token_cost_above_1hr?: number;
  output_cost_per_reasoning_token?: number;
  input_cost_per_token_above_200k_tokens?: number;
  output_cost_per_token_above_200k_tokens?: number;
  /** Rerank: USD per search unit. */
  input_cost_per_query?: number;
}

function fromLitellm(e: LitellmPriceEntry, source: Price['source']): Price {
  const input = perTokenToPico(e.input_cost_per_token ?? 0);
  const output = perTokenToPico(e.output_cost_per_token ?? 0);
  const cacheWrite = e.cache_creation_input_token_cost !== undefined ? perTokenToPico(e.cache_creation_input_token_cost) : input;
  const price: Price = {
    input,
    output,
    cacheRead: e.cache_read_input_token_cost !== undefined ? perTokenToPico(e.cache_read_input_token_cost) : input,
    cacheWrite,
    cacheWrite1h: e.cache_creation_input_token_cost_above_1hr !== undefined ? perTokenToPico(e.cache_creation_input_token_cost_above_1hr) : cacheWrite,
    reasoning: e.output_cost_per_reasoning_token !== undefined ? perTokenToPico(e.output_cost_per_reasoning_token) : null,
    perQuery: perTokenToPico(e.input_cost_per_query ?? 0),
    tiers: [],
    source,
  };
  if (e.input_cost_per_token_above_200k_tokens !== undefined || e.output_cost_per_token_above_200k_tokens !== undefined) {
    price.tiers.push({
      start: 200_000,
      input: perTokenToPico(e.input_cost_per_token_above_200k_tokens ?? e.input_cost_per_token ?? 0),
      output: perTokenToPico(e.output_cost_per_token_above_200k_tokens ?? e.output_cost_per_token ?? 0),
      cacheRead: price.cacheRead,
      cacheWrite: price.cacheWrite,
      cacheWrite1h: price.cacheWrite1h,
    });
  }
  return price;
}

export class PriceBook {
  /** Per deployment, per upstream model: no key to build on the request path. */
  private readonly cache = new WeakMap<Deployment, Map<string, Price>>();
  private readonly file: Record<string, LitellmPriceEntry>;

  /** `file`: entries of a LiteLLM-format price file, by model name (optional). */
  constructor(file: Record<string, LitellmPriceEntry> = {}) {
    this.file = file;
  }

  /** The price of one deployment for one upstream model (wildcard deployments vary by request). */
  priceFor(d: Deployment, upstreamModel: string): Price {
    let byModel = this.cache.get(d);
    if (!byModel) {
      byModel = new Map();
      this.cache.set(d, byModel);
    }
    let p = byModel.get(upstreamModel);
    if (!p) {
      p = this.resolve(d, upstreamModel);
      byModel.set(upstreamModel, p);
    }
    return p;
  }

  private resolve(d: Deployment, upstreamModel: string): Price {
    const names = [d.baseModel, upstreamModel, `${d.provider}/${upstreamModel}`].filter((n): n is string => Boolean(n));
    let base: Price = NO_PRICE;
    for (const n of names) {
      const e = this.file[n] ?? this.file[`${d.provider}/${n}`];
      if (e) {
        base = fromLitellm(e, 'file');
        break;
      }
    }
    if (base === NO_PRICE) {
      for (const n of names) {
        const bare = n.includes('/') && n.startsWith(`${d.provider}/`) ? n.slice(d.provider.length + 1) : n;
        const c = fromCatalog(d.provider, bare) ?? rerankPrice(bare);
        if (c) {
          base = c;
          break;
        }
      }
    }
    if (Object.keys(d.prices).length === 0) return base;
    // Config overrides, field by field, on top of what the other sources give.
    const over = fromLitellm({ ...pricesAsEntry(base), ...d.prices }, 'config');
    return over;
  }
}

/** A Price back in LiteLLM's per-token fields, so config overrides can be merged field by field. */
function pricesAsEntry(p: Price): LitellmPriceEntry {
  if (p === NO_PRICE) return {};
  const e: LitellmPriceEntry = {
    input_cost_per_token: p.input / 1e12,
    output_cost_per_token: p.output / 1e12,
    cache_read_input_token_cost: p.cacheRead / 1e12,
    cache_creation_input_token_cost: p.cacheWrite / 1e12,
    cache_creation_input_token_cost_above_1hr: p.cacheWrite1h / 1e12,
  };
  if (p.reasoning !== null) e.output_cost_per_reasoning_token = p.reasoning / 1e12;
  if (p.perQuery > 0) e.input_cost_per_query = p.perQuery / 1e12;
  const t = p.tiers.find((x) => x.start === 200_000);
  if (t) {
    e.input_cost_per_token_above_200k_tokens = t.input / 1e12;
    e.output_cost_per_token_above_200k_tokens = t.output / 1e12;
  }
  return e;
}
