// Dashboard sign-in and sessions: UI_USERNAME / UI_PASSWORD (the master key by default), an HttpOnly
// SameSite=Strict cookie, a CSRF token on every call, refusals of wrong passwords, ended or expired
// sessions and cross-site requests; the session acts as the master key on the management API. Users
// sign in with their email (or user_id) and password, and act as themselves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { startFakeOpenAI } from '../fakes/openai-upstream.ts';
import { fakeModels, MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

let gw: TestGateway;
let shortLived: TestGateway;

before(async () => {
  gw = await startInProcess('model_list: []\n');
  shortLived = await startInProcess('model_list: []\n', { ui: { sessionTtlMs: 1000 } });
});
after(async () => {
  await gw.close();
  await shortLived.close();
});

async function login(g: TestGateway, username: string, password: string) {
  const res = await fetch(`${g.url}/ui/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const cookie = res.headers.get('set-cookie');
  return { res, body: (await res.json()) as any, cookie: cookie?.split(';')[0] ?? '' };
}

const call = (g: TestGateway, path: string, headers: Record<string, string>, body?: unknown) =>
  fetch(`${g.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });

describe('dashboard sessions', () => {
  test('sign-in with the master key as password: an HttpOnly, SameSite=Strict cookie and a CSRF token; never the master key', async () => {
    const { res, body } = await login(gw, 'admin', MASTER_KEY);
    assert.equal(res.status, 200);
    const cookie = res.headers.get('set-cookie')!;
    assert.match(cookie, /^llmproxy_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    assert.equal(body.username, 'admin');
    assert.match(body.csrf, /^[A-Za-z0-9_-]{32}$/);
    assert.ok(!JSON.stringify(body).includes(MASTER_KEY) && !cookie.includes(MASTER_KEY));
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  test('a wrong username or password is refused, and repeated failures are slowed down', async () => {
    const g = await startInProcess('model_list: []\n');
    try {
      for (const [u, p] of [['admin', 'wrong'], ['root', MASTER_KEY], ['', '']]) {
        const { res, body, cookie } = await login(g, u!, p!);
        assert.equal(res.status, 401);
        assert.equal(body.error.message, 'Invalid username or password.');
        assert.equal(cookie, '');
      }
      let last = 0;
      for (let i = 0; i < 10; i++) last = (await login(g, 'admin', 'wrong')).res.status;
      assert.equal(last, 429);
      // Even the right password waits out the window: no guessing around the limit.
      assert.equal((await login(g, 'admin', MASTER_KEY)).res.status, 429);
    } finally {
      await g.close();
    }
  });

  test('the session stands in for the master key on the management API, with its CSRF token', async () => {
    const { body, cookie } = await login(gw, 'admin', MASTER_KEY);
    const ok = await call(gw, '/key/generate', { cookie, 'x-csrf-token': body.csrf }, { key_alias: 'from-ui' });
    assert.equal(ok.status, 200);
    assert.match(((await ok.json()) as any).key, /^sk-/);
    const list = await call(gw, '/ui/api/keys?search=from-', { cookie, 'x-csrf-token': body.csrf });
    assert.deepEqual(((await list.json()) as any).data.map((k: any) => k.key_alias), ['from-ui']);
  });

  test('a forged cross-site request is refused: no CSRF token, a wrong one, or another origin', async () => {
    const { body, cookie } = await login(gw, 'admin', MASTER_KEY);
    const forged: Record<string, string>[] = [{ cookie }, { cookie, 'x-csrf-token': 'x'.repeat(32) }, { cookie, 'x-csrf-token': body.csrf, origin: 'https://evil.example' }];
    for (const headers of forged) {
      const res = await call(gw, '/key/generate', headers, { key_alias: 'forged' });
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as any).error.message, /CSRF|Cross-site/);
    }
    const same = await call(gw, '/key/list', { cookie, 'x-csrf-token': body.csrf, origin: gw.url });
    assert.equal(same.status, 200);
  });

  test('signing out ends the session everywhere; an unknown cookie is refused', async () => {
    const { body, cookie } = await login(gw, 'admin', MASTER_KEY);
    const out = await call(gw, '/ui/api/logout', { cookie, 'x-csrf-token': body.csrf }, {});
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie')!, /^llmproxy_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
    assert.equal((await call(gw, '/ui/api/session', { cookie })).status, 401);
    assert.equal((await call(gw, '/key/list', { cookie, 'x-csrf-token': body.csrf })).status, 401);
    assert.equal((await call(gw, '/ui/api/session', { cookie: 'llmproxy_session=made-up' })).status, 401);
  });

  test('behind a TLS proxy (x-forwarded-proto: https) the cookie is Secure and __Host-, and works and is cleared as such', async () => {
    const tls = { 'content-type': 'application/json', 'x-forwarded-proto': 'https' };
    const res = await fetch(`${gw.url}/ui/api/login`, { method: 'POST', headers: tls, body: JSON.stringify({ username: 'admin', password: MASTER_KEY }) });
    assert.equal(res.status, 200);
    const set = res.headers.get('set-cookie')!;
    assert.match(set, /^__Host-llmproxy_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict; Secure$/);
    const { csrf } = (await res.json()) as { csrf: string };
    const cookie = set.split(';')[0]!;
    assert.equal((await call(gw, '/ui/api/session', { ...tls, cookie })).status, 200);
    assert.equal((await call(gw, '/key/list', { ...tls, cookie, 'x-csrf-token': csrf })).status, 200);
    const out = await call(gw, '/ui/api/logout', { ...tls, cookie, 'x-csrf-token': csrf }, {});
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie')!, /^__Host-llmproxy_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict; Secure$/);
    assert.equal((await call(gw, '/ui/api/session', { ...tls, cookie })).status, 401);
  });

  test('an expired session is refused', async () => {
    const { body, cookie } = await login(shortLived, 'admin', MASTER_KEY);
    assert.equal((await call(shortLived, '/ui/api/session', { cookie })).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await call(shortLived, '/key/list', { cookie, 'x-csrf-token': body.csrf });
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as any).error.message, /session has ended/);
  });

  test('Sec-Fetch-Site decides when the browser sends it; behind a proxy the forwarded host counts', async () => {
    const { body, cookie } = await login(gw, 'admin', MASTER_KEY);
    const h = { cookie, 'x-csrf-token': body.csrf };
    for (const site of ['cross-site', 'same-site']) {
      const res = await call(gw, '/key/list', { ...h, 'sec-fetch-site': site });
      assert.equal(res.status, 403, site);
    }
    assert.equal((await call(gw, '/key/list', { ...h, 'sec-fetch-site': 'same-origin', origin: 'https://gw.example.com' })).status, 200);
    assert.equal((await call(gw, '/key/list', { ...h, origin: 'https://gw.example.com', 'x-forwarded-host': 'gw.example.com' })).status, 200);
    const stale = await call(gw, '/key/list', { cookie, 'x-csrf-token': 'stale'.repeat(6) + 'xx' });
    assert.equal(((await stale.json()) as any).error.code, 'csrf_token');
  });

  test('sign-in from another site is refused; a CSRF header that is not ASCII is refused, not a crash', async () => {
    const res = await fetch(`${gw.url}/ui/api/login`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' }, body: JSON.stringify({ username: 'admin', password: MASTER_KEY }) });
    assert.equal(res.status, 403);
    const { cookie } = await login(gw, 'admin', MASTER_KEY);
    const odd = await call(gw, '/key/list', { cookie, 'x-csrf-token': 'é'.repeat(32) });
    assert.equal(odd.status, 403);
  });

  test('a malformed cookie is refused, not a crash', async () => {
    for (const cookie of ['llmproxy_session=%E0', 'llmproxy_session=', '__Host-llmproxy_session=x; llmproxy_session=%%%']) {
      const res = await call(gw, '/key/list', { cookie, 'x-csrf-token': 'x' });
      assert.equal(res.status, 401, cookie);
    }
  });

  test('new sign-in credentials end the sessions opened with the old ones, across restarts', async () => {
    const file = join(tempDir('ui'), 'ui.db');
    const a = await startInProcess('model_list: []\n', { db: openSqlite(file), ui: { password: 'first password' } });
    const { cookie } = await login(a, 'admin', 'first password');
    assert.equal((await call(a, '/ui/api/session', { cookie })).status, 200);
    await a.close();
    const same = await startInProcess('model_list: []\n', { db: openSqlite(file), ui: { password: 'first password' } });
    assert.equal((await call(same, '/ui/api/session', { cookie })).status, 200, 'a restart keeps sessions');
    await same.close();
    const rotated = await startInProcess('model_list: []\n', { db: openSqlite(file), ui: { password: 'second password' } });
    try {
      assert.equal((await call(rotated, '/ui/api/session', { cookie })).status, 401);
    } finally {
      await rotated.close();
    }
  });

  test('UI_USERNAME and UI_PASSWORD replace the defaults', async () => {
    const g = await startInProcess('model_list: []\n', { ui: { username: 'ops', password: 'correct horse' } });
    try {
      assert.equal((await login(g, 'admin', MASTER_KEY)).res.status, 401);
      assert.equal((await login(g, 'ops', 'correct horse')).res.status, 200);
    } finally {
      await g.close();
    }
  });

  test('a bearer credential is judged on its own, whatever cookie comes with it', async () => {
    const { cookie } = await login(gw, 'admin', MASTER_KEY);
    assert.equal((await call(gw, '/key/list', { cookie, authorization: 'Bearer sk-wrong' })).status, 401);
  });

  test('a user signs in with their email (or user_id) and password, and acts as that user, not as the admin', async () => {
    // Its own gateway: the other tests' sign-ins count against this address's attempts per minute.
    const fake = await startFakeOpenAI();
    const g = await startInProcess(fakeModels(fake.url));
    after(async () => {
      await g.close();
      await fake.close();
    });
    const admin = { authorization: `Bearer ${MASTER_KEY}` };
    const made = await call(g, '/user/new', admin, { user_id: 'dana', user_email: 'Dana@example.com', user_role: 'internal_user', password: 'dana-secret-1', auto_create_key: false });
    assert.equal(made.status, 200);
    assert.equal((await call(g, '/user/new', admin, { user_id: 'nopass', auto_create_key: false })).status, 200);
    const keyOf = async (body: unknown) => ((await (await call(g, '/key/generate', admin, body)).json()) as any).key as string;
    const danas = await keyOf({ user_id: 'dana', key_alias: 'dana-key' });
    const other = await keyOf({ key_alias: 'not-danas' });
    const chat = (key: string) =>
      call(g, '/chat/completions', { authorization: `Bearer ${key}` }, { model: 'gpt-4', messages: [{ role: 'user', content: 'one two three' }] }).then((r) => r.status);
    assert.deepEqual([await chat(danas), await chat(other), await chat(other)], [200, 200, 200]);

    for (const [u, p] of [['dana@example.com', 'wrong-password'], ['nopass', ''], ['nopass', 'anything-at-all'], ['nobody@example.com', 'dana-secret-1']]) {
      const r = await login(g, u!, p!);
      assert.equal(r.res.status, 401, `${u}`);
      assert.equal(r.body.error.message, 'Invalid username or password.');
    }
    const { res, body, cookie } = await login(g, 'dana@example.com', 'dana-secret-1');
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual({ ...body, csrf: typeof body.csrf }, { username: 'Dana@example.com', user_id: 'dana', user_role: 'internal_user', csrf: 'string' });
    assert.equal((await login(g, 'dana', 'dana-secret-1')).res.status, 200, 'by user_id too');
    const session = (await (await call(g, '/ui/api/session', { cookie })).json()) as any;
    assert.deepEqual([session.user_id, session.user_role], ['dana', 'internal_user']);

    const as = { cookie, 'x-csrf-token': body.csrf };
    // Their own keys only, in the dashboard's list and in LiteLLM's.
    const keys = (await (await call(g, '/ui/api/keys', as)).json()) as any;
    assert.deepEqual(keys.data.map((k: any) => k.key_alias), ['dana-key']);
    assert.equal((await call(g, '/key/generate', as, { user_id: 'someone-else' })).status, 403);
    assert.equal((await call(g, '/user/update', as, { user_id: 'dana', user_role: 'proxy_admin' })).status, 403);
    // Usage: theirs only; the admin's is the whole proxy's.
    const day = new Date().toISOString().slice(0, 10);
    const usage = async (headers: Record<string, string>) => (await (await call(g, `/ui/api/usage?start=${day}&end=${day}`, headers)).json()) as any;
    const [mine, all] = [await usage(as), await usage(admin)];
    assert.equal(mine.totals.requests, 1);
    assert.equal(all.totals.requests, 3);
    assert.deepEqual(mine.by_key.map((k: any) => k.key_alias), ['dana-key']);
    assert.ok(mine.totals.spend > 0 && mine.totals.spend < all.totals.spend);

    // A new password (their own change) ends the sessions opened with the old one.
    assert.equal((await call(g, '/user/update', as, { user_id: 'dana', password: 'dana-secret-2' })).status, 200);
    assert.equal((await call(g, '/ui/api/keys', as)).status, 401);
    const again = await login(g, 'dana@example.com', 'dana-secret-2');
    assert.equal(again.res.status, 200);
    // And a deleted user's sessions end with them.
    assert.equal((await call(g, '/user/delete', admin, { user_ids: ['dana'] })).status, 200);
    assert.equal((await call(g, '/ui/api/session', { cookie: again.cookie })).status, 401);
  });
});
