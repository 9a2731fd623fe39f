// Two gateway processes on one PostgreSQL: a key blocked, changed or deleted on one takes effect on
// the other at once (LISTEN/NOTIFY), not after the key cache's lifetime.
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

test('a key change on one instance reaches the other at once', { skip: POSTGRES ? false : 'TEST_POSTGRES_URL is not set (.ci/run sets it)' }, async () => {
  const url = await freshPostgresUrl();
  const start = async () => {
    const dir = tempDir('instance');
    writeFileSync(join(dir, 'config.yaml'), fakeModels(fake.url));
    const g = await spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: MASTER, DATABASE_URL: url } });
    gws.push(g);
    return g;
  };
  // Started together: the migrations run once, under their lock.
  const [a, b] = await Promise.all([start(), start()]);
  const admin = (g: GatewayProcess, path: string, body: unknown) =>
    fetch(`${g.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}` }, body: JSON.stringify(body) }).then(async (r) => (await r.json()) as any);
  const chat = async (g: GatewayProcess, key: string, model = 'gpt-4') =>
    (await fetch(`${g.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) })).status;

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

/** Well under the key cache's 60 s lifetime: the change arrived by notification. */
async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('the change did not reach the other instance within 2 s');
}
