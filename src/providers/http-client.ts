// One capped undici Agent per upstream origin. HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured
// (EnvHttpProxyAgent); NODE_EXTRA_CA_CERTS is read by Node itself at start.
// Timeouts are set per request from the deployment's config, so the agents' own 300 s defaults are off.
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';

const agents = new Map<string, Dispatcher>();

const AGENT_OPTIONS = {
  connections: 4096,
  pipelining: 1,
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 600_000,
  headersTimeout: 0,
  bodyTimeout: 0,
  connect: { timeout: 10_000 },
} as const;

function proxyConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy);
}

export function dispatcherFor(origin: string): Dispatcher {
  let d = agents.get(origin);
  if (!d) {
    d = proxyConfigured(process.env) ? new EnvHttpProxyAgent(AGENT_OPTIONS) : new Agent(AGENT_OPTIONS);
    agents.set(origin, d);
  }
  return d;
}

export async function closeAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.allSettled(all.map((a) => a.close()));
}
