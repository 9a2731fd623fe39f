// The database goes away while the gateway runs (a TCP relay to PostgreSQL is cut): readiness says
// 503, keys not in the cache get 503, calls already admitted keep working and their records wait in
// the journal; when the database is back, readiness recovers by itself and the records are written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, spawnGateway, type GatewayProcess } from '../helpers/gateway.ts';
import { freshPostgresUrl, POSTGRES } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp.ts';
import pg from 'pg';
import { openPostgres } from '../../src/store/postgres.ts';
import type { SpendRecord } from '../../src/metering/record.ts';

let fake: FakeUpstream;
let gw: GatewayProcess | null = null;
const started: GatewayProcess[] = [];
let relay: Server | null = null;
const relays: Server[] = [];
const sockets = new Set<Socket>();

before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  for (const g of started) await g.stop();
  for (const s of sockets) s.destroy();
  for (const r of relays) r.close();
  await fake.close();
});

/** A relay to PostgreSQL that can be cut and restored on the same port. */
async function startRelay(target: URL, port = 0): Promise<number> {
  relay = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  relays.push(relay);
  await new Promise<void>((r) => relay!.listen(port, '127.0.0.1', r));
  return (relay.address() as { port: number }).port;
}

/** A fresh database, and its URL through a new relay. */
async function relayedDatabase(): Promise<{ direct: URL; port: number; viaRelay: URL }> {
  const direct = new URL(await freshPostgresUrl());
  const port = await startRelay(direct);
  const viaRelay = new URL(direct);
  viaRelay.hostname = '127.0.0.1';
  viaRelay.port = String(port);
  return { direct, port, viaRelay };
}

async function cutRelay(): Promise<void> {
  const closed = new Promise<void>((r) => relay!.close(() => r()));
  for (const s of sockets) s.destroy();
  await closed;
}

test('database outage and recovery', { skip: POSTGRES ? false : 'TEST_POSTGRES_URL is not set (.ci/run sets it)' }, async () => {
  const { direct, port, viaRelay } = await relayedDatabase();
  const dir = tempDir('outage');
  writeFileSync(join(dir, 'config.yaml'), fakeModels(fake.url));
  gw = await spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: 'sk-master-outage', DATABASE_URL: viaRelay.toString() } });
  started.push(gw);
  const master = { authorization: 'Bearer sk-master-outage' };
  const key = ((await (await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: master, body: '{}' })).json()) as { key: string }).key;
  const chat = async (k: string) =>
    (await fetch(`${gw!.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${k}` }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }) })).status;
  assert.equal(await chat(key), 200); // now cached

  await cutRelay();
  assert.equal((await fetch(`${gw.url}/health/readiness`)).status, 503);
  assert.equal(await chat(key), 200, 'a cached key keeps working');
  assert.equal(await chat(MASTER_LIKE), 401, 'a credential that cannot be a key needs no database');
  assert.equal(await chat('sk-never-seen-key-123'), 503, 'a key that must be read from the database: 503');

  await startRelay(direct, port);
  for (let i = 0; i < 100 && (await fetch(`${gw.url}/health/readiness`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await fetch(`${gw.url}/health/readiness`)).status, 200, 'readiness recovers by itself');
  const logs = (await (await fetch(`${gw.url}/spend/logs?api_key=${key}`, { headers: master })).json()) as { total: number };
  assert.equal(logs.total, 2, 'the call made during the outage was written when the database came back');
});

const MASTER_LIKE = 'not-a-key';

test('the connection cut in the middle of a ledger write: the write fails, the process keeps running, the next one succeeds', { skip: POSTGRES ? false : 'TEST_POSTGRES_URL is not set (.ci/run sets it)' }, async () => {
  const { direct, port, viaRelay } = await relayedDatabase();
  const db = openPostgres(viaRelay.toString());
  await db.migrate();
  const record: SpendRecord = {
    request_id: 'held-by-another-transaction', upstream_id: null, key_token: null, user_id: null, team_id: null, organization_id: null, end_user: null,
    model_group: 'gpt-4', deployment_id: null, provider: 'openai', model: 'gpt-4', call_type: 'chat',
    usage: { input: 1, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 1, reasoning: 0, estimated: false },
    cost_nanos: 10, status: 'success', http_status: 200, error_type: null, stream: false, latency_ms: 1, ttft_ms: null, tags: [],
    started_at: new Date().toISOString(),
  };
  const segment = join(tempDir('segment'), 'spend-0000000000000001.ndjson');
  writeFileSync(segment, `${JSON.stringify(record)}\n`);
  // Another transaction inserts the same request id and holds it: the ledger's insert waits on it.
  const other = new pg.Client({ connectionString: direct.toString() });
  await other.connect();
  await other.query('BEGIN');
  await other.query(
    `INSERT INTO llmproxy_spend_logs (request_id, model_group, call_type, input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
      output_tokens, reasoning_tokens, cost_nanos, status, http_status, stream, latency_ms, estimated, tags, started_at)
     VALUES ($1, 'gpt-4', 'chat', 0, 0, 0, 0, 0, 0, 0, 'success', 200, 0, 0, 0, '[]', $2)`,
    [record.request_id, record.started_at],
  );
  try {
    const writing = db.writeLedgerSegment(segment);
    await new Promise((r) => setTimeout(r, 200));
    await cutRelay();
    await assert.rejects(writing, 'the write in flight fails; an uncaught error event would have ended this process');
  } finally {
    await other.query('ROLLBACK');
    await other.end();
  }
  await startRelay(direct, port);
  assert.equal((await db.writeLedgerSegment(segment)).inserted, 1, 'the pool drops the broken client and writes on a new one');
  await db.close();
});

test('database down at start: refused by default; with allow_requests_on_db_unavailable, the gateway serves the master key and catches up', { skip: POSTGRES ? false : 'TEST_POSTGRES_URL is not set (.ci/run sets it)' }, async () => {
  // a port with nothing behind it yet
  const { direct, port, viaRelay } = await relayedDatabase();
  await cutRelay();
  const dir = tempDir('outage-start');
  writeFileSync(join(dir, 'config.yaml'), fakeModels(fake.url));
  const env = { LITELLM_MASTER_KEY: 'sk-master-outage', DATABASE_URL: viaRelay.toString() };
  await assert.rejects(spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env }), /cannot open the database/);

  writeFileSync(join(dir, 'config.yaml'), `${fakeModels(fake.url)}general_settings:\n  allow_requests_on_db_unavailable: true\n`);
  gw = await spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env });
  started.push(gw);
  assert.equal((await fetch(`${gw.url}/health/readiness`)).status, 503);
  const master = { authorization: 'Bearer sk-master-outage' };
  const call = await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: master, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }) });
  assert.equal(call.status, 200);
  const keyList = await fetch(`${gw.url}/key/list`, { headers: master });
  assert.equal(keyList.status, 503);
  assert.equal(((await keyList.json()) as any).error.type, 'no_db_connection');

  await startRelay(direct, port);
  for (let i = 0; i < 150 && (await fetch(`${gw.url}/health/readiness`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  // once migrated, the key API works and the call made during the outage is in the ledger
  let listed = 0;
  for (let i = 0; i < 150 && listed !== 200; i++) {
    listed = (await fetch(`${gw.url}/key/list`, { headers: master })).status;
    if (listed !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(listed, 200);
  let total = 0;
  for (let i = 0; i < 50 && total === 0; i++) {
    const logs = await fetch(`${gw.url}/spend/logs`, { headers: master });
    total = logs.status === 200 ? ((await logs.json()) as { total: number }).total : 0;
    if (total === 0) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(total, 1);
});
