// Model groups and the pick of a deployment within one: exact names first, then wildcard entries
// (`openai/*`, `*`), longest prefix first. Traffic is shared by `weight`, else evenly.
import type { Deployment } from '../config/load.ts';

export interface Resolved {
  group: string;
  deployments: Deployment[];
  /** What a wildcard entry's `*` matched, to put into the upstream model name. */
  capture: string | null;
}

interface Wildcard {
  prefix: string;
  suffix: string;
  group: string;
  deployments: Deployment[];
}

export class Router {
  private readonly groups = new Map<string, Deployment[]>();
  private readonly wildcards: Wildcard[] = [];

  constructor(deployments: readonly Deployment[]) {
    for (const d of deployments) {
      const list = this.groups.get(d.modelName);
      if (list) list.push(d);
      else this.groups.set(d.modelName, [d]);
    }
    for (const [group, list] of this.groups) {
      const star = group.indexOf('*');
      if (star >= 0) this.wildcards.push({ prefix: group.slice(0, star), suffix: group.slice(star + 1), group, deployments: list });
    }
    this.wildcards.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  resolve(model: string): Resolved | null {
    // A wildcard group's own name is no model: called as it is, `*` would go upstream as the model.
    if (model.includes('*')) return null;
    const exact = this.groups.get(model);
    if (exact) return { group: model, deployments: exact, capture: null };
    for (const w of this.wildcards) {
      if (model.length > w.prefix.length + w.suffix.length - 1 && model.startsWith(w.prefix) && model.endsWith(w.suffix)) {
        return { group: w.group, deployments: w.deployments, capture: model.slice(w.prefix.length, model.length - w.suffix.length) };
      }
    }
    return null;
  }

  /** Model group names, configuration order. */
  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /**
   * Every deployment in the order picks would try them: weighted random, those not tried yet first
   * (routing under rpm/tpm takes the first with room).
   */
  order(deployments: readonly Deployment[], tried: ReadonlySet<string>): Deployment[] {
    const out: Deployment[] = [];
    const left = [...deployments];
    const done = new Set(tried);
    while (left.length > 0) {
      const d = this.pick(left, done);
      out.push(d);
      done.add(d.id);
      left.splice(left.indexOf(d), 1);
    }
    return out;
  }

  /** Weighted random pick, preferring deployments not tried yet. */
  pick(deployments: readonly Deployment[], tried: ReadonlySet<string>): Deployment {
    const fresh = deployments.filter((d) => !tried.has(d.id));
    const pool = fresh.length > 0 ? fresh : deployments;
    if (pool.length === 1) return pool[0]!;
    let total = 0;
    for (const d of pool) total += d.weight;
    let r = Math.random() * total;
    for (const d of pool) {
      r -= d.weight;
      if (r < 0) return d;
    }
    return pool[pool.length - 1]!;
  }
}

/** The model name to send upstream for a deployment. */
export function upstreamModelFor(d: Deployment, capture: string | null): string {
  return capture !== null && d.upstreamModel.includes('*') ? d.upstreamModel.replace('*', capture) : d.upstreamModel;
}
