// SIGTERM under load: calls in flight finish, every answered call has exactly one record, the process
// exits 0; a second signal exits at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, spawnGateway } from '../helpers/gateway.ts';
import { databaseUrls } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp.ts';

let fake: FakeUpstream;
before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  await fake.close();
});

function setup(databaseUrl: string | null = null) {
  const dir = tempDir('restart');
  writeFileSync(join(dir, 'config.yaml'), fakeModels(fake.url));
  const env = { LITELLM_MASTER_KEY: 'sk-master-restart', DATABASE_URL: databaseUrl ?? `sqlite:${join(dir, 'data/llm-proxy.db')}` };
  return { dir, env, args: ['--port', '0', '--host', '127.0.0.1'] };
}

for (const { name, url } of await databaseUrls()) test(`SIGTERM with 50 calls in flight: all finish, each is recorded once, exit 0 (${name})`, async () => {
  const { dir, env, args } = setup(url);
  let gw = await spawnGateway({ cwd: dir, args, env });
  const auth = { authorization: 'Bearer sk-master-restart' };
  const seen = fake.requests.length;
  const inFlight = Array.from({ length: 50 }, (_, i) =>
    fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: 'gpt-4', stream: i % 2 === 0, messages: [{ role: 'user', content: `[[delay:300]] [[gap:5]] call ${i}` }] }),
    }).then(async (res) => ({ status: res.status, id: res.headers.get('x-litellm-call-id'), body: await res.text() })),
  );
  // every call has reached the upstream before the signal
  while (fake.requests.length - seen < 50) await new Promise((r) => setTimeout(r, 5));
  const exit = gw.stop('SIGTERM');
  const results = await Promise.all(inFlight);
  assert.equal(await exit, 0);
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.ok(!r.body.includes('"error"'), r.body.slice(0, 200));
  }

  gw = await spawnGateway({ cwd: dir, args, env });
  try {
    const logs = (await (await fetch(`${gw.url}/spend/logs?page_size=1000`, { headers: auth })).json()) as { data: { request_id: string; status: string }[] };
    const ids = logs.data.map((l) => l.request_id);
    assert.equal(new Set(ids).size, ids.length, 'no call has two records');
    for (const r of results) assert.ok(ids.includes(r.id!), `call ${r.id} has no record`);
    assert.equal(ids.length, 50);
  } finally {
    await gw.stop();
  }
});

test('a second signal exits at once', async () => {
  const { dir, env, args } = setup();
  const gw = await spawnGateway({ cwd: dir, args, env });
  const hanging = fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-master-restart' },
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: '[[hang]] forever' }] }),
  }).catch(() => null);
  while (!fake.requests.some((r) => String(r.body.messages?.[0]?.content) === '[[hang]] forever')) await new Promise((r) => setTimeout(r, 5));
  gw.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(gw.proc.exitCode, null, 'still waiting for the call in flight');
  const code = await gw.stop('SIGTERM');
  assert.equal(code, 1);
  await hanging;
});
