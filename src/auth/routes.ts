// Route groups, as LiteLLM names them, and what a key's `allowed_routes` (or `key_type`) lets it call.
// A key's allowed routes only ever narrow what its role allows: they never grant a route.
import { GatewayError } from '../http/errors.ts';

export const ROUTE_GROUPS: Record<string, readonly string[]> = {
  llm_api_routes: [
    '/chat/completions', '/v1/chat/completions', '/embeddings', '/v1/embeddings', '/v1/messages', '/v1/messages/count_tokens',
    '/rerank', '/v1/rerank', '/v2/rerank', '/responses', '/v1/responses', '/completions', '/v1/completions',
    '/models', '/v1/models', '/model/info', '/v1/model/info',
  ],
  info_routes: [
    '/key/info', '/key/list', '/user/info', '/user/list', '/team/info', '/team/list', '/organization/info', '/organization/list',
    '/customer/info', '/customer/list', '/end_user/info', '/end_user/list', '/budget/info', '/budget/list', '/budget/settings',
    '/models', '/v1/models', '/model/info', '/v1/model/info',
  ],
  management_routes: [
    '/key/*', '/user/*', '/team/*', '/organization/*', '/customer/*', '/end_user/*', '/budget/*', '/audit',
  ],
  spend_tracking_routes: ['/spend/logs', '/global/spend'],
};

/** What each key_type stands for, as LiteLLM sets allowed_routes from it. */
export const KEY_TYPE_ROUTES: Record<string, string[] | null> = {
  llm_api: ['llm_api_routes'],
  management: ['management_routes'],
  read_only: ['info_routes'],
  default: null,
};

function matches(pattern: string, route: string): boolean {
  if (pattern.endsWith('*')) return route.startsWith(pattern.slice(0, -1));
  return pattern === route;
}

/** Whether a list of routes and route groups contains `route`. */
export function routeListed(list: readonly string[], route: string): boolean {
  for (const entry of list) {
    const group = ROUTE_GROUPS[entry];
    if (group ? group.some((p) => matches(p, route)) : matches(entry, route)) return true;
  }
  return false;
}

/** Refuses a route outside a key's allowed routes (null or empty: no restriction). */
export function checkKeyRoute(key: { allowed_routes: string[] | null; key_alias: string | null; key_name: string }, route: string): void {
  const allowed = key.allowed_routes;
  if (!allowed || allowed.length === 0 || routeListed(allowed, route)) return;
  // /v1/x and /x are one route.
  const twin = route.startsWith('/v1/') ? route.slice(3) : `/v1${route}`;
  if (routeListed(allowed, twin)) return;
  throw new GatewayError(
    'route_not_allowed',
    `This key may not call ${route}: its allowed_routes are ${allowed.join(', ')}.`,
    { param: 'allowed_routes' },
  );
}
