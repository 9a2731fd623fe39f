// Loads a LiteLLM-format model_prices_and_context_window.json from a file or an operator-configured URL.
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import type { LitellmPriceEntry } from './prices.ts';

export async function loadCostMap(source: string): Promise<Record<string, LitellmPriceEntry>> {
  let text: string;
  if (/^https?:\/\//.test(source)) {
    const res = await request(source, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`${source} answered ${res.statusCode}`);
    }
    text = await res.body.text();
  } else {
    text = await readFile(source, 'utf8');
  }
  const data = JSON.parse(text) as Record<string, unknown>;
  const out: Record<string, LitellmPriceEntry> = {};
  for (const [model, entry] of Object.entries(data)) {
    if (entry && typeof entry === 'object' && ('input_cost_per_token' in entry || 'output_cost_per_token' in entry)) out[model] = entry as LitellmPriceEntry;
  }
  return out;
}
