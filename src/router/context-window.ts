// Pre-call checks (router_settings.enable_pre_call_checks): a deployment whose context window
// (model_info.max_input_tokens) the prompt does not fit is skipped, before any call, so the call goes to
// one it fits or to context_window_fallbacks instead of spending a round trip on a certain 400.
import type { Deployment } from '../config/load.ts';
import { countTokens, messagesText } from '../metering/estimate.ts';

const windowOf = (d: Deployment) => Number(d.modelInfo.max_input_tokens) || Infinity;

/**
 * The deployments the prompt fits, and its token count when it had to be counted. `estimate` is the
 * gateway's byte estimate (about 4 bytes a token): a prompt far under every window is not counted.
 */
export async function fitting(deployments: Deployment[], body: Record<string, unknown>, estimate: number): Promise<{ fit: Deployment[]; tokens: number | null }> {
  const smallest = Math.min(...deployments.map(windowOf));
  // (two bytes a token is the least any text takes: under that, it fits without counting)
  if (smallest === Infinity || estimate * 2 < smallest) return { fit: deployments, tokens: null };
  const tokens = await countTokens(messagesText(body));
  return { fit: deployments.filter((d) => tokens <= windowOf(d)), tokens };
}
