// Model groups and the pick of a deployment within one: exact names first (and model_group_alias),
// then wildcard entries (`openai/*`, `*`), longest prefix first. Which deployment of a group a call
// goes to is the routing strategy's (router_settings.routing_strategy, LiteLLM's names):
//   simple-shuffle          random, by `weight`, else by `rpm`, else by `tpm`, else evenly (the default)
//   least-busy              the fewest calls in flight
//   latency-based-routing   the lowest average latency (time to first byte for streams); with
//                           lowest_latency_buffer, any within that fraction of it, at random
//   usage-based-routing-v2  the most headroom this minute against its tpm (else rpm; none: all headroom)
//   cost-based-routing      the cheapest (input + output price per token)
// Ties are broken at random; deployments not tried yet by the call come first.
import type { Deployment } from '../config/load.ts';
import { DeploymentStats } from './stats.ts';

export const STRATEGIES = ['simple-shuffle', 'least-busy', 'latency-based-routing', 'usage-based-routing', 'usage-based-routing-v2', 'cost-based-routing'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface RouterOptions {
  strategy: Strategy;
  /** latency-based-routing: deployments within this fraction of the fastest are as good (routing_strategy_args.lowest_latency_buffer). */
  latencyBuffer: number;
  /** model_group_alias: another name for a group; hidden ones are not listed. */
  aliases: Record<string, { model: string; hidden: boolean }>;
  /** A deployment's price per token (input + output), for cost-based-routing. */
  costOf?: (d: Deployment) => number;
}

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

const DEFAULTS: RouterOptions = { strategy: 'simple-shuffle', latencyBuffer: 0, aliases: {} };

export class Router {
  private readonly groups = new Map<string, Deployment[]>();
  private readonly wildcards: Wildcard[] = [];
  private readonly options: RouterOptions;
  /** simple-shuffle's weight of each deployment: its weight, else (when its group gives none) its rpm, else its tpm. */
  private readonly weights = new Map<string, number>();
  /** What the strategy reads; null for simple-shuffle, which reads nothing. */
  readonly stats: DeploymentStats | null;

  constructor(deployments: readonly Deployment[], options: RouterOptions = DEFAULTS) {
    this.options = options;
    this.stats = options.strategy === 'simple-shuffle' ? null : new DeploymentStats();
    for (const d of deployments) {
      const list = this.groups.get(d.modelName);
      if (list) list.push(d);
      else this.groups.set(d.modelName, [d]);
    }
    for (const [group, list] of this.groups) {
      const star = group.indexOf('*');
      if (star >= 0) this.wildcards.push({ prefix: group.slice(0, star), suffix: group.slice(star + 1), group, deployments: list });
      // LiteLLM's order: weights where any is given, else rpm, else tpm; a deployment without the one
      // its group goes by gets none of its traffic (all without: evenly).
      const by = list.some((d) => d.weightGiven) ? 'weight' : list.some((d) => d.rpm !== null) ? 'rpm' : list.some((d) => d.tpm !== null) ? 'tpm' : null;
      for (const d of list) this.weights.set(d.id, by === 'weight' ? d.weight : by === 'rpm' ? (d.rpm ?? 0) : by === 'tpm' ? (d.tpm ?? 0) : 1);
    }
    this.wildcards.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  resolve(model: string): Resolved | null {
    // A wildcard group's own name is no model: called as it is, `*` would go upstream as the model.
    if (model.includes('*')) return null;
    const exact = this.groups.get(model);
    if (exact) return { group: model, deployments: exact, capture: null };
    const alias = this.options.aliases[model];
    if (alias) {
      const target = this.groups.get(alias.model);
      if (target) return { group: alias.model, deployments: target, capture: null };
    }
    for (const w of this.wildcards) {
      if (model.length > w.prefix.length + w.suffix.length - 1 && model.startsWith(w.prefix) && model.endsWith(w.suffix)) {
        return { group: w.group, deployments: w.deployments, capture: model.slice(w.prefix.length, model.length - w.suffix.length) };
      }
    }
    return null;
  }

  /** Model group names, configuration order, then the aliases that are not hidden. */
  groupNames(): string[] {
    const visible = Object.entries(this.options.aliases).filter(([name, a]) => !a.hidden && !this.groups.has(name) && this.groups.has(a.model));
    return [...this.groups.keys(), ...visible.map(([name]) => name)];
  }

  /**
   * Every deployment in the order picks would try them, those not tried yet first (routing under
   * rpm/tpm takes the first with room).
   */
  order(deployments: readonly Deployment[], tried: ReadonlySet<string>): Deployment[] {
    const out: Deployment[] = [];
    const left = [...deployments];
    const done = new Set(tried);
    const now = Date.now();
    while (left.length > 0) {
      const d = this.pick(left, done, now);
      out.push(d);
      done.add(d.id);
      left.splice(left.indexOf(d), 1);
    }
    return out;
  }

  /** The strategy's pick, preferring deployments not tried yet. */
  pick(deployments: readonly Deployment[], tried: ReadonlySet<string>, now = Date.now()): Deployment {
    const fresh = tried.size === 0 ? deployments : deployments.filter((d) => !tried.has(d.id));
    const pool = fresh.length > 0 ? fresh : deployments;
    if (pool.length === 1) return pool[0]!;
    const stats = this.stats;
    switch (this.options.strategy) {
      case 'least-busy':
        return lowest(pool, (d) => stats!.inFlight(d.id));
      case 'latency-based-routing': {
        const best = Math.min(...pool.map((d) => stats!.latencyOf(d.id)));
        const near = pool.filter((d) => stats!.latencyOf(d.id) <= best * (1 + this.options.latencyBuffer));
        return near[Math.floor(Math.random() * near.length)]!;
      }
      case 'usage-based-routing':
      case 'usage-based-routing-v2':
        // (the share of its limit used this minute; a deployment without one has all its headroom)
        return lowest(pool, (d) => {
          const u = stats!.usageOf(d.id, now);
          return d.tpm ? u.tokens / d.tpm : d.rpm ? u.requests / d.rpm : 0;
        });
      case 'cost-based-routing':
        return lowest(pool, (d) => this.options.costOf?.(d) ?? 0);
    }
    let total = 0;
    for (const d of pool) total += this.weights.get(d.id)!;
    if (total <= 0) return pool[Math.floor(Math.random() * pool.length)]!;
    let r = Math.random() * total;
    for (const d of pool) {
      r -= this.weights.get(d.id)!;
      if (r < 0) return d;
    }
    return pool[pool.length - 1]!;
  }
}

/** The deployment with the lowest score, ties at random. */
function lowest(pool: readonly Deployment[], score: (d: Deployment) => number): Deployment {
  let best: Deployment[] = [];
  let min = Infinity;
  for (const d of pool) {
    const s = score(d);
    if (s < min) {
      min = s;
      best = [d];
    } else if (s === min) best.push(d);
  }
  return best[Math.floor(Math.random() * best.length)] ?? pool[0]!;
}

/** The model name to send upstream for a deployment. */
export function upstreamModelFor(d: Deployment, capture: string | null): string {
  return capture !== null && d.upstreamModel.includes('*') ? d.upstreamModel.replace('*', capture) : d.upstreamModel;
}

/**
 * The deployments a call with these tags may go to, as LiteLLM's tag filtering has it: those carrying
 * one of its tags, else those tagged `default`; a call without tags goes to the `default` ones when
 * there are, else to any. Null: none may take the call.
 */
export function byTags(deployments: Deployment[], tags: readonly string[]): Deployment[] | null {
  if (!deployments.some((d) => d.tags.length > 0)) return deployments;
  const defaults = deployments.filter((d) => d.tags.includes('default'));
  if (tags.length === 0) return defaults.length > 0 ? defaults : deployments;
  const matched = deployments.filter((d) => d.tags.some((t) => tags.includes(t)));
  if (matched.length > 0) return matched;
  return defaults.length > 0 ? defaults : null;
}
