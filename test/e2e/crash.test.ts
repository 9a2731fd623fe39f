// kill -9 under load, restart: the ledger holds exactly one record for every answered request
// (the journal is replayed at start, idempotently). 32 connections, streamed and plain calls, on
// SQLite and PostgreSQL; and two processes on one PostgreSQL (no Redis), one of them killed while the
// other goes on serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, spawnGateway, type GatewayProcess } from '../helpers/gateway.ts';
import { databaseUrls, freshPostgresUrl, POSTGRES } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp.ts';

const MASTER = 'sk-master-crash';
const auth = { authorization: `Bearer ${MASTER}` };
const args = ['--port', '0', '--host', '127.0.0.1'];

let fake: FakeUpstream;
before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  await fake.close();
});

function instanceDir(name: string): string {
  const dir = tempDir(name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), fakeModels(fake.url));
  return dir;
}

interface Outcome {
  id: string | null;
  /** The client got the whole answer: the usage of a plain call, or a stream's [DONE]. */
  whole: boolean;
}

/** `total` calls over `connections` workers, alternating streamed and plain, spread over `targets`. */
function load(targets: () => GatewayProcess[], key: string, total: number, connections: number): { outcomes: Outcome[]; done: Promise<void> } {
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const gws = targets();
      const gw = gws[i % gws.length]!;
      const stream = i % 2 === 0;
      try {
        const res = await fetch(`${gw.url}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
          body: JSON.stringify({
            model: 'gpt-4',
            stream,
            max_tokens: 20,
            messages: [{ role: 'user', content: stream ? `[[chunks:6]] [[gap:${5 + (i % 5) * 5}]] call ${i}` : `[[delay:${(i % 8) * 10}]] call ${i}` }],
          }),
        });
        const text = await res.text();
        const whole = res.status === 200 && (stream ? text.includes('data: [DONE]') : text.includes('"usage"'));
        outcomes.push({ id: res.headers.get('x-litellm-call-id'), whole });
      } catch {
        outcomes.push({ id: null, whole: false }); // cut by the kill: not answered
      }
    }
  };
  return { outcomes, done: Promise.all(Array.from({ length: connections }, worker)).then(() => undefined) };
}

async function ledgerIds(url: string, key: string, expect: string[]): Promise<string[]> {
  let ids: string[] = [];
  // The journal is replayed at start; its records reach the database within a batch or two.
  for (let i = 0; i < 60; i++) {
    const logs = (await (await fetch(`${url}/spend/logs?api_key=${key}&page_size=1000`, { headers: auth })).json()) as { data: { request_id: string }[] };
    ids = logs.data.map((l) => l.request_id);
    if (expect.every((a) => ids.includes(a))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return ids;
}

async function assertLedger(url: string, key: string, outcomes: Outcome[]): Promise<void> {
  const answered = outcomes.filter((o) => o.whole).map((o) => o.id!);
  const ids = await ledgerIds(url, key, answered);
  assert.equal(new Set(ids).size, ids.length, 'no request has two records');
  for (const id of answered) assert.ok(ids.includes(id), `answered request ${id} lost`);
  const logs = (await (await fetch(`${url}/spend/logs?api_key=${key}&page_size=1000`, { headers: auth })).json()) as { data: { spend: number }[] };
  const info = (await (await fetch(`${url}/key/info?key=${key}`, { headers: auth })).json()) as { info: { spend: number } };
  const fromLogs = logs.data.reduce((s, l) => s + Math.round(l.spend * 1e9), 0);
  assert.ok(fromLogs > 0);
  assert.equal(Math.round(info.info.spend * 1e9), fromLogs, 'the key spend is the sum of its records');
}

for (const { name, url } of await databaseUrls()) {
  test(`kill -9 under load (32 connections, streamed and plain) loses no answered request and counts none twice (${name})`, async () => {
    const dir = instanceDir(`crash-${name}`);
    const env = { LITELLM_MASTER_KEY: MASTER, DATABASE_URL: url ?? `sqlite:${join(dir, 'data/llm-proxy.db')}` };
    let gw = await spawnGateway({ cwd: dir, args, env });
    const key = ((await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: auth, body: '{}' })).json()) as { key: string }).key;

    const run = load(() => [gw], key, 400, 32);
    // Kill once some calls are answered and others are in flight.
    while (run.outcomes.filter((o) => o.whole).length < 40) await new Promise((r) => setTimeout(r, 5));
    await gw.stop('SIGKILL');
    await run.done;
    assert.ok(run.outcomes.some((o) => !o.whole), 'some calls were cut by the kill');

    gw = await spawnGateway({ cwd: dir, args, env });
    try {
      await assertLedger(gw.url, key, run.outcomes);
    } finally {
      await gw.stop();
    }
  });
}

test('two processes on one PostgreSQL, one killed with -9 under load: the other serves on, and once back nothing answered is lost or counted twice', { skip: POSTGRES ? false : 'TEST_POSTGRES_URL is not set' }, async () => {
  const db = await freshPostgresUrl();
  const env = { LITELLM_MASTER_KEY: MASTER, DATABASE_URL: db };
  // Each process in its own folder: a journal belongs to one process.
  const dirs = [instanceDir('crash-pg-a'), instanceDir('crash-pg-b')];
  const gws = [await spawnGateway({ cwd: dirs[0]!, args, env }), await spawnGateway({ cwd: dirs[1]!, args, env })];
  try {
    const key = ((await (await fetch(`${gws[0]!.url}/key/generate`, { method: 'POST', headers: auth, body: '{}' })).json()) as { key: string }).key;
    let alive = gws;
    const run = load(() => alive, key, 400, 32);
    while (run.outcomes.filter((o) => o.whole).length < 40) await new Promise((r) => setTimeout(r, 5));
    alive = [gws[1]!];
    await gws[0]!.stop('SIGKILL');
    await run.done;
    assert.ok(run.outcomes.some((o) => !o.whole), 'some calls were cut by the kill');
    assert.ok(run.outcomes.slice(-50).every((o) => o.whole), 'the other process served every later call');

    gws[0] = await spawnGateway({ cwd: dirs[0]!, args, env });
    await assertLedger(gws[1]!.url, key, run.outcomes);
  } finally {
    await Promise.all(gws.map((g) => g.stop()));
  }
});
