// kill -9 under load, restart: the ledger holds exactly one record for every answered request
// (the journal is replayed at start, idempotently).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, spawnGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

let fake: FakeUpstream;
before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  await fake.close();
});

test('kill -9 under load loses no answered request and counts none twice', async () => {
  const dir = tempDir('crash');
  writeFileSync(join(dir, 'config.yaml'), fakeModels(fake.url));
  const env = { LITELLM_MASTER_KEY: 'sk-master-crash', DATABASE_URL: `sqlite:${join(dir, 'data/llm-proxy.db')}` };
  const args = ['--port', '0', '--host', '127.0.0.1'];
  let gw = await spawnGateway({ cwd: dir, args, env });
  const auth = { authorization: 'Bearer sk-master-crash' };
  const key = ((await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: auth, body: '{}' })).json()) as { key: string }).key;

  const answered: string[] = [];
  const call = async (i: number) => {
    try {
      const res = await fetch(`${gw.url}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: `[[delay:${(i % 10) * 20}]] request ${i}` }] }),
      });
      await res.text();
      if (res.status === 200) answered.push(res.headers.get('x-litellm-call-id')!);
    } catch {
      // killed mid-request: not answered
    }
  };
  const load = Promise.all(Array.from({ length: 200 }, (_, i) => new Promise((r) => setTimeout(r, i)).then(() => call(i))));
  // Kill once some requests are answered and others are still in flight.
  while (answered.length < 20) await new Promise((r) => setTimeout(r, 5));
  await gw.stop('SIGKILL');
  await load;
  assert.ok(answered.length > 0, 'some requests were answered before the kill');

  gw = await spawnGateway({ cwd: dir, args, env });
  try {
    const logs = (await (await fetch(`${gw.url}/spend/logs?api_key=${key}&page_size=1000`, { headers: auth })).json()) as {
      data: { request_id: string; spend: number }[];
      total: number;
    };
    const ids = logs.data.map((l) => l.request_id);
    assert.equal(new Set(ids).size, ids.length, 'no request has two records');
    for (const id of answered) assert.ok(ids.includes(id), `answered request ${id} lost`);
    const info = (await (await fetch(`${gw.url}/key/info?key=${key}`, { headers: auth })).json()) as { info: { spend: number } };
    const fromLogs = logs.data.reduce((s, l) => s + Math.round(l.spend * 1e9), 0);
    assert.ok(fromLogs > 0);
    assert.equal(Math.round(info.info.spend * 1e9), fromLogs, 'the key spend is the sum of its records');
  } finally {
    await gw.stop();
  }
});
