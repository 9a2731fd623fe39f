// The cost of one request: token counts times integer pico-dollar prices, summed exactly (BigInt),
// rounded once, half up, to integer nano-dollars.
import { promptTokens, type UsageRecord } from './usage.ts';
import type { Price } from './prices.ts';

export function costNanos(u: UsageRecord, price: Price): number {
  let p = price;
  const prompt = promptTokens(u);
  const tier = price.tiers.findLast((t) => prompt >= t.start);
  if (tier) p = { ...price, ...tier };
  const pico =
    BigInt(u.input) * BigInt(p.input) +
    BigInt(u.cacheRead) * BigInt(p.cacheRead) +
    BigInt(u.cacheWrite) * BigInt(p.cacheWrite) +
    BigInt(u.cacheWrite1h) * BigInt(p.cacheWrite1h) +
    BigInt(u.output - u.reasoning) * BigInt(p.output) +
    BigInt(u.reasoning) * BigInt(p.reasoning ?? p.output) +
    BigInt(u.searchUnits ?? 0) * BigInt(p.perQuery);
  return Number((pico + 500n) / 1000n);
}
