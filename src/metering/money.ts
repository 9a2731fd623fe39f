// Money is integer nano-dollars (1e-9 USD) inside the gateway; USD floats only at the API edge.

export const NANOS_PER_USD = 1_000_000_000;

export function usdToNanos(usd: number): number {
  return Math.round(usd * NANOS_PER_USD);
}

export function nanosToUsd(nanos: number | bigint): number {
  return Number(nanos) / NANOS_PER_USD;
}
