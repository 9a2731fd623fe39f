import type { Deployment } from '../config/load.ts';
import type { AccessGroups } from './model-access.ts';

/** Model access groups from the config: each group's name to the model groups whose model_info lists it. */
export function accessGroupsOf(deployments: readonly Deployment[]): AccessGroups {
  const groups = new Map<string, Set<string>>();
  for (const d of deployments) {
    const names = d.modelInfo.access_groups;
    if (!Array.isArray(names)) continue;
    for (const g of names) {
      if (typeof g !== 'string') continue;
      const set = groups.get(g) ?? new Set<string>();
      set.add(d.modelName);
      groups.set(g, set);
    }
  }
  return groups;
}
