// Two gateway processes on one PostgreSQL: a key, user, team, organization or customer blocked,
// changed or deleted on one takes effect on the other at once (LISTEN/NOTIFY), not after the
// cache's lifetime.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, spawnGateway, type GatewayProcess } from '../helpers/gateway.ts';
import { freshPostgresUrl, POSTGRES } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp.ts';

let fake: FakeUpstream;
const gws: GatewayProcess[] = [];
const MASTER = 'sk-master-instances';

before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  for (const g of gws) await g.stop();
  await fake.close();
});

const skip = POSTGRES ? false : 'TEST_POSTGRES_URL is not set (.ci/run sets it)';
let pair: Promise<[GatewayProcess, GatewayProcess]> | null = null;
/** Two instances on one fresh database, started together: the migrations run once, under their lock. */
function instances(): Promise<[GatewayProcess, GatewayProcess]> {
  pair ??= (async () => {
    const url = await freshPostgresUrl();
    const start = async () => {
      const dir = tempDir('instance');
      writeFileSync(join(dir, 'config.yaml'), fakeModels(fake.url));
      const g = await spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: MASTER, DATABASE_URL: url } });
      gws.push(g);
      return g;
    };
    return Promise.all([start(), start()]);
  })();
  return pair;
}
const admin = async (g: GatewayProcess, path: string, body: unknown) => {
  const r = await fetch(`${g.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}` }, body: JSON.stringify(body) });
  const json = (await r.json()) as any;
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
};
const chat = async (g: GatewayProcess, key: string, extra: Record<string, unknown> = {}) =>
  (
    await fetch(`${g.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], ...extra }),
    })
  ).status;

test('a key change on one instance reaches the other at once', { skip }, async () => {
  const [a, b] = await instances();
  const key = (await admin(a, '/key/generate', { models: ['gpt-4'] })).key;
  assert.equal(await chat(b, key), 200, 'a key made on A works on B');
  await admin(a, '/key/block', { key });
  await waitFor(async () => (await chat(b, key)) === 401);
  await admin(a, '/key/unblock', { key });
  await waitFor(async () => (await chat(b, key)) === 200);
  await admin(a, '/key/update', { key, models: ['gpt-3.5-turbo'] });
  await waitFor(async () => (await chat(b, key)) === 403);
  await admin(a, '/key/delete', { keys: [key] });
  await waitFor(async () => (await chat(b, key)) === 401);
});

test("a team's, organization's, user's or customer's change on one instance reaches the other at once", { skip }, async () => {
  const [a, b] = await instances();
  await admin(a, '/organization/new', { organization_id: 'acme', organization_alias: 'Acme', models: ['gpt-4', 'gpt-3.5-turbo'] });
  await admin(a, '/team/new', { team_id: 'search', organization_id: 'acme', models: ['gpt-4', 'gpt-3.5-turbo'] });
  await admin(a, '/user/new', { user_id: 'ada', auto_create_key: false });
  await admin(a, '/team/member_add', { team_id: 'search', member: { user_id: 'ada', role: 'user' } });
  const key = (await admin(a, '/key/generate', { team_id: 'search', user_id: 'ada' })).key;
  // Each instance has read the team, organization and user into its cache before they change.
  assert.equal(await chat(b, key), 200);
  assert.equal(await chat(b, key, { model: 'gpt-3.5-turbo' }), 200);

  await admin(a, '/team/block', { team_id: 'search' });
  await waitFor(async () => (await chat(b, key)) === 401);
  await admin(a, '/team/unblock', { team_id: 'search' });
  await waitFor(async () => (await chat(b, key)) === 200);

  await admin(a, '/team/update', { team_id: 'search', models: ['gpt-3.5-turbo'] });
  await waitFor(async () => (await chat(b, key)) === 403);
  await admin(a, '/team/update', { team_id: 'search', models: ['gpt-4', 'gpt-3.5-turbo'] });
  await waitFor(async () => (await chat(b, key)) === 200);
  // The organization narrows what its teams may call.
  await admin(a, '/organization/update', { organization_id: 'acme', models: ['gpt-4'] });
  await waitFor(async () => (await chat(b, key, { model: 'gpt-3.5-turbo' })) === 403);
  assert.equal(await chat(b, key), 200);

  // A customer blocked on A is refused on B.
  assert.equal(await chat(b, key, { user: 'shopper-1' }), 200);
  await admin(a, '/customer/block', { user_ids: ['shopper-1'] });
  await waitFor(async () => (await chat(b, key, { user: 'shopper-1' })) === 400);
  await admin(a, '/customer/unblock', { user_ids: ['shopper-1'] });
  await waitFor(async () => (await chat(b, key, { user: 'shopper-1' })) === 200);

  // Deleting the user stops its keys everywhere; so does deleting a team.
  const other = (await admin(a, '/key/generate', { team_id: 'search' })).key;
  assert.equal(await chat(b, other), 200);
  await admin(a, '/user/delete', { user_ids: ['ada'] });
  await waitFor(async () => (await chat(b, key)) === 401);
  assert.equal(await chat(b, other), 200, "the team's other keys keep working");
  await admin(a, '/team/delete', { team_ids: ['search'] });
  await waitFor(async () => (await chat(b, other)) === 401);
});

/** Well under the key cache's 60 s lifetime: the change arrived by notification. */
async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('the change did not reach the other instance within 2 s');
}
