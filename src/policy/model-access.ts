// Which model groups a key may call. An empty `models` list (or `all-proxy-models`, or `*`) means all.
import type { Principal } from '../auth/principal.ts';

function matches(pattern: string, model: string): boolean {
  if (pattern === model) return true;
  const star = pattern.indexOf('*');
  if (star < 0) return false;
  return model.startsWith(pattern.slice(0, star)) && model.endsWith(pattern.slice(star + 1)) && model.length >= pattern.length - 1;
}

export function modelAllowed(principal: Principal, model: string): boolean {
  if (principal.kind === 'master') return true;
  const models = principal.key.models;
  if (models.length === 0) return true;
  for (const m of models) if (m === 'all-proxy-models' || m === '*' || matches(m, model)) return true;
  return false;
}

/** The model group a request names, after the key's `aliases`. */
export function resolveAlias(principal: Principal, model: string): string {
  if (principal.kind !== 'key') return model;
  const target = principal.key.aliases[model];
  return typeof target === 'string' ? target : model;
}
