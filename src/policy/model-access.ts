// Which model groups a principal may call: what its key allows, within what its team (or, for a key
// of no team, its user) allows, within what its organization allows. An empty list (or
// `all-proxy-models`, or `*`) means every model; `all-team-models` on a key means its team's; a name
// may be a wildcard (`openai/*`) or a model access group (`model_info.access_groups` in the config).
import type { Principal } from '../auth/principal.ts';

/** Model access groups: a group's name to the model groups that list it. */
export type AccessGroups = ReadonlyMap<string, ReadonlySet<string>>;

function matches(pattern: string, model: string, groups: AccessGroups): boolean {
  if (pattern === model) return true;
  if (groups.get(pattern)?.has(model)) return true;
  const star = pattern.indexOf('*');
  if (star < 0) return false;
  return model.startsWith(pattern.slice(0, star)) && model.endsWith(pattern.slice(star + 1)) && model.length >= pattern.length - 1;
}

/** Whether a list of models lets `model` through (an empty list lets everything through). */
export function listAllows(models: readonly string[], model: string, groups: AccessGroups): boolean {
  if (models.length === 0) return true;
  for (const m of models) if (m === 'all-proxy-models' || m === '*' || matches(m, model, groups)) return true;
  return false;
}

/** Which list refused a model: null when allowed. */
export function modelRefusedBy(principal: Principal, model: string, groups: AccessGroups): 'key' | 'team' | 'user' | 'org' | null {
  if (principal.kind === 'master') return null;
  const { key, team, user, org } = principal;
  // `all-team-models`: the key takes its team's list as its own.
  const keyModels = key.models.includes('all-team-models') ? [] : key.models;
  if (!listAllows(keyModels, model, groups)) return 'key';
  if (team) {
    if (!listAllows(team.models, model, groups)) return 'team';
  } else if (user && !listAllows(user.models.filter((m) => m !== 'no-default-models'), model, groups)) return 'user';
  else if (user?.models.includes('no-default-models')) return 'user';
  if (org && !listAllows(org.models, model, groups)) return 'org';
  return null;
}

export function modelAllowed(principal: Principal, model: string, groups: AccessGroups): boolean {
  return modelRefusedBy(principal, model, groups) === null;
}

/** The model group a request names, after the key's `aliases`. */
export function resolveAlias(principal: Principal, model: string): string {
  if (principal.kind !== 'key') return model;
  const target = principal.key.aliases[model];
  return typeof target === 'string' ? target : model;
}
