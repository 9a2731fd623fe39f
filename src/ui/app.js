// Entry point: session probe, sign-in screen, app shell with hash routing.
import { html, render, useState, useEffect } from '/ui/vendor/preact.js';
import { get, post, setCsrf, setUnauthorizedHandler, resetCaches } from './api.js';
import { Icon, Toaster, Alert, Spinner, toastError, lazy } from './ui.js';
import { parseHash, cx } from './util.js';

// Each page is its own module, fetched when first shown. `roles`: who sees it (absent: everyone
// signed in); the API decides what each of them may read and change on it.
const ADMINS = ['proxy_admin', 'proxy_admin_viewer'];
const ROUTES = [
  { path: 'keys', label: 'Keys', icon: 'key', page: lazy(() => import('./keys.js'), 'KeysPage') },
  { path: 'users', label: 'Users', icon: 'user', page: lazy(() => import('./users.js'), 'UsersPage'), roles: [...ADMINS, 'org_admin'] },
  { path: 'teams', label: 'Teams', icon: 'users', page: lazy(() => import('./teams.js'), 'TeamsPage') },
  { path: 'orgs', label: 'Organizations', icon: 'building', page: lazy(() => import('./orgs.js'), 'OrgsPage') },
  { path: 'models', label: 'Models', icon: 'box', page: lazy(() => import('./models.js'), 'ModelsPage'), roles: ADMINS },
  { path: 'usage', label: 'Usage', icon: 'chart', page: lazy(() => import('./usage.js'), 'UsagePage') },
  { path: 'logs', label: 'Logs', icon: 'list', page: lazy(() => import('./logs.js'), 'LogsPage') },
];
const routesFor = (session) => ROUTES.filter((r) => !r.roles || r.roles.includes(session.user_role || 'proxy_admin'));
const routeFor = (path, routes = ROUTES) => routes.find((r) => r.path === path) || routes[0];

function useHashRoute() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function SignIn({ onSignedIn, expired }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    if (!username || !password) { setErr('Enter your username (or email) and password.'); return; }
    setBusy(true);
    setErr(null);
    try {
      const s = await post('/ui/api/login', { username, password }, { auth: false });
      setPassword('');
      onSignedIn(s);
    } catch (e2) {
      setErr(e2.message);
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <form class="signin-card" onSubmit=${submit} novalidate aria-labelledby="signin-title">
      <div class="brand brand-lg"><span class="logo"><${Icon} name="logo" size="18" /></span>llm-proxy</div>
      <h1 id="signin-title">Sign in to the admin dashboard</h1>
      ${expired && !err && html`<div class="alert alert-info" role="status">Your session has ended. Sign in again.</div>`}
      ${err && html`<${Alert}>${err}<//>`}
      <div class="field">
        <label for="signin-user">Username or email</label>
        <input id="signin-user" name="username" autocomplete="username" autofocus value=${username} onInput=${(e) => setUsername(e.target.value)} />
      </div>
      <div class="field">
        <label for="signin-pass">Password</label>
        <input id="signin-pass" name="password" type="password" autocomplete="current-password" value=${password} onInput=${(e) => setPassword(e.target.value)} />
      </div>
      <button type="submit" class="btn primary block" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  </main>`;
}

function Shell({ session, onSignOut }) {
  const route = useHashRoute();
  const routes = routesFor(session);
  const current = routeFor(route.path, routes);
  const Page = current.page;
  useEffect(() => { document.title = `${current.label} · llm-proxy`; }, [current]);
  return html`<div class="shell">
    <aside class="side">
      <div class="brand"><span class="logo"><${Icon} name="logo" size="15" /></span>llm-proxy</div>
      <nav aria-label="Main">
        ${routes.map((r) => html`<a href=${'#/' + r.path} class=${cx('nav-link', r === current && 'active')} aria-current=${r === current ? 'page' : undefined}>
          <${Icon} name=${r.icon} />${r.label}</a>`)}
      </nav>
      <div class="side-foot">
        <div class="user" title="Signed in as ${session.username}">
          <span class="avatar" aria-hidden="true">${(session.username || '?').slice(0, 1).toUpperCase()}</span>
          <span class="user-name" data-testid="current-user">${session.username}</span>
        </div>
        <button type="button" class="btn ghost sm" onClick=${onSignOut}><${Icon} name="logout" size="14" />Sign out</button>
      </div>
    </aside>
    <main class="main" id="main">
      <${Page} key=${current.path} params=${route.params} session=${session} />
    </main>
  </div>`;
}

function App() {
  // state: undefined = probing, null = signed out, object = signed in
  const [session, setSession] = useState(undefined);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    setUnauthorizedHandler(() => { setCsrf(null); resetCaches(); setExpired(true); setSession(null); });
    // fetch the first page's module while the session is being checked
    routeFor(parseHash(location.hash).path).page.preload().catch(() => {});
    get('/ui/api/session', null, { auth: false })
      .then((s) => { setCsrf(s.csrf); setSession(s); })
      .catch((e) => { if (e.status !== 401) toastError(e); setSession(null); });
  }, []);

  const signedIn = (s) => { setCsrf(s.csrf); setExpired(false); setSession(s); };
  const signOut = async () => {
    try { await post('/ui/api/logout', {}, { auth: false }); } catch (e) { if (e.status !== 401) { toastError(e); return; } }
    setCsrf(null);
    resetCaches();
    setExpired(false);
    setSession(null);
  };

  return html`${session === undefined
    ? html`<div class="boot"><${Spinner} /></div>`
    : session
      ? html`<${Shell} session=${session} onSignOut=${signOut} />`
      : html`<${SignIn} onSignedIn=${signedIn} expired=${expired} />`}
    <${Toaster} />`;
}

render(html`<${App} />`, document.getElementById('app'));
