// Same-origin JSON client. The session lives in an HttpOnly cookie set by the server;
// the CSRF token is kept in this module's memory only (never in storage).

let csrf = null;
let onUnauthorized = () => {};

export const setCsrf = (t) => { csrf = t || null; };
export const setUnauthorizedHandler = (fn) => { onUnauthorized = fn; };

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `Request failed (HTTP ${status})`);
    this.status = status;
    this.type = e.type;
    this.param = e.param;
    this.code = e.code;
  }
}

/**
 * request('GET', '/ui/api/keys', { query: {...} }) / request('POST', '/key/update', { body: {...} })
 * opts.auth === false: a 401 is returned as an error instead of signing the user out (login, session probe).
 */
export async function request(method, path, opts = {}) {
  const { query, body, auth = true, signal } = opts;
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v != null && v !== '') q.set(k, String(v));
    const s = q.toString();
    if (s) url += '?' + s;
  }
  const headers = { accept: 'application/json' };
  if (csrf) headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, { error: { message: 'Network error: the gateway could not be reached.' } });
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  // A token from an older sign-in (another tab signed in again): fetch the current one, try once more.
  if (res.status === 403 && data && data.error && data.error.code === 'csrf_token' && !opts.retried) {
    const s = await request('GET', '/ui/api/session', { auth: false }).catch(() => null);
    if (s && s.csrf) {
      csrf = s.csrf;
      return request(method, path, { ...opts, retried: true });
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && auth) {
      csrf = null;
      onUnauthorized(err);
    }
    throw err;
  }
  return data;
}

/**
 * A pasted key goes into URLs (and so into proxies' logs) only as its SHA-256, which is how the
 * gateway stores it; where the page cannot hash (plain HTTP away from localhost) it goes as typed.
 */
export async function keyRef(v) {
  if (!/^sk-[A-Za-z0-9_-]{20,}$/.test(v) || !(globalThis.crypto && crypto.subtle)) return v;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(v));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export const get = (path, query, opts) => request('GET', path, { ...opts, query });
export const post = (path, body, opts) => request('POST', path, { ...opts, body: body ?? {} });

// Cached model list (used by the key form, the models page and the logs filter).
let modelsPromise = null;
export function getModels(fresh = false) {
  if (fresh || !modelsPromise) {
    modelsPromise = get('/ui/api/models').catch((e) => { modelsPromise = null; throw e; });
  }
  return modelsPromise;
}
export const resetCaches = () => { modelsPromise = null; knownKeys.clear(); };

// token -> { key_alias, key_name } for labelling logs; filled from every key list the UI sees.
export const knownKeys = new Map();
export function rememberKeys(list) {
  for (const k of list || []) if (k && k.token) knownKeys.set(k.token, { key_alias: k.key_alias, key_name: k.key_name });
}
