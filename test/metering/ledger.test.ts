// The ledger end to end: every authenticated request becomes one record, streamed and plain answers
// cost the same, key spend is current at once, and a batch written twice counts once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';
import { applyLedger } from '../../src/store/ledger.ts';
import { openSqliteConnection as openSqlite } from '../../src/store/sqlite.ts';
import { migrate } from '../../src/store/migrations.ts';
import { isoTime } from '../../src/pipeline/settle.ts';
import { spendRecord } from '../helpers/records.ts';

let fake: FakeUpstream;
let gw: TestGateway;

// 1 $/MTok in, 2 $/MTok out: 1,000 and 2,000 nano-dollars per token.
const PRICED = (url: string) => `model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: "${url}", input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: emb
    litellm_params: { model: openai/text-embedding-3-small, api_base: "${url}", input_cost_per_token: 0.000001 }
`;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(PRICED(fake.url));
});
after(async () => {
  await gw.close();
  await fake.close();
});

async function api(method: string, path: string, body?: unknown, key = MASTER_KEY) {
  const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${key}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe('metering', () => {
  test('a plain and a streamed answer to the same request record the same usage and cost', async () => {
    const key = (await api('POST', '/key/generate', {})).body.key;
    const client = new OpenAI({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'same words for both calls' }];
    const { data: plain, response } = await client.chat.completions.create({ model: 'gpt-4', messages, user: 'customer-7', metadata: { tags: ['t1'] } as any }).withResponse();
    // 5 prompt tokens x 1000 + 15 completion x 2000 nano-dollars
    assert.equal(Number(response.headers.get('x-litellm-response-cost')), 0.000035);
    const stream = await client.chat.completions.create({ model: 'gpt-4', messages, stream: true });
    for await (const _ of stream);
    const logs = (await api('GET', `/spend/logs?api_key=${key}`)).body;
    assert.equal(logs.total, 2);
    const [s, p] = logs.data;
    assert.equal(p.request_id, response.headers.get('x-litellm-call-id'));
    assert.equal(p.upstream_request_id, plain.id);
    for (const r of [p, s]) {
      assert.equal(r.prompt_tokens, 5);
      assert.equal(r.completion_tokens, 15);
      assert.equal(r.spend, 0.000035);
      assert.equal(r.status, 'success');
      assert.equal(r.estimated, false);
      assert.equal(r.model_group, 'gpt-4');
    }
    assert.equal(s.stream, true);
    assert.equal(p.end_user, 'customer-7');
    assert.deepEqual(p.request_tags, ['t1']);
    assert.ok(s.time_to_first_token_ms >= 0);
  });

  test('key spend is current at once in /key/info and the x-litellm-key-spend header', async () => {
    const key = (await api('POST', '/key/generate', {})).body.key;
    for (let i = 0; i < 3; i++) await api('POST', '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: 'one two' }] }, key);
    const info = (await api('GET', `/key/info?key=${key}`)).body.info;
    // each: 2 x 1000 + 15 x 2000 = 32,000 nano-dollars
    assert.equal(info.spend, 0.000096);
    const next = await api('POST', '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: 'one two' }] }, key);
    assert.equal(Number(next.headers.get('x-litellm-key-spend')), 0.000128);
  });

  test('embeddings are metered like chat', async () => {
    const key = (await api('POST', '/key/generate', {})).body.key;
    const r = await api('POST', '/v1/embeddings', { model: 'emb', input: ['a b c', 'd'] }, key);
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers.get('x-litellm-response-cost')), 0.000004);
    const log = (await api('GET', `/spend/logs?api_key=${key}`)).body.data[0];
    assert.equal(log.call_type, 'aembedding');
    assert.equal(log.prompt_tokens, 4);
  });

  test('failed calls are recorded too, with their status; failed authentication is not', async () => {
    const key = (await api('POST', '/key/generate', { models: ['gpt-4'] })).body.key;
    await api('POST', '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: '[[status:500]]' }] }, key);
    await api('POST', '/chat/completions', { model: 'emb', messages: [] }, key);
    await api('POST', '/chat/completions', { model: 'gpt-4', messages: [] }, 'sk-unknown-key-000000');
    const logs = (await api('GET', `/spend/logs?api_key=${key}&status=error`)).body.data;
    assert.deepEqual(logs.map((l: any) => [l.http_status, l.error_type, l.spend, l.prompt_tokens]).sort(), [[403, 'key_model_access_denied', 0, 0], [500, 'server_error', 0, 0]]);
  });

  test('a stream without usage is estimated and marked so', async () => {
    const key = (await api('POST', '/key/generate', {})).body.key;
    const res = await fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content: '[[no-usage]] hello there' }] }),
    });
    await res.text();
    const log = (await api('GET', `/spend/logs?api_key=${key}`)).body.data[0];
    assert.equal(log.estimated, true);
    assert.ok(log.prompt_tokens > 0);
    assert.ok(log.completion_tokens > 0);
    assert.ok(log.spend > 0);
  });

  test('a cut stream records what was used, estimated', async () => {
    const key = (await api('POST', '/key/generate', {})).body.key;
    const res = await fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content: '[[chunks:40]] [[cut:20]] [[gap:2]]' }] }),
    });
    assert.match(await res.text(), /api_connection_error/);
    const log = (await api('GET', `/spend/logs?api_key=${key}`)).body.data[0];
    assert.equal(log.status, 'error');
    assert.equal(log.estimated, true);
    assert.ok(log.completion_tokens >= 5, `${log.completion_tokens} tokens seen`);
  });

  test('/spend/logs finds a record by either id, and /global/spend sums everything', async () => {
    const r = await api('POST', '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: 'find me' }] });
    const id = r.headers.get('x-litellm-call-id')!;
    const byOurs = (await api('GET', `/spend/logs?request_id=${id}`)).body.data;
    const byTheirs = (await api('GET', `/spend/logs?request_id=${r.body.id}`)).body.data;
    assert.equal(byOurs.length, 1);
    assert.deepEqual(byOurs, byTheirs);
    const total = (await api('GET', '/global/spend')).body.spend;
    assert.ok(total >= 0.000035 * 2);
  });

  test("api_key=master_key finds the master key's own calls", async () => {
    const r = await api('POST', '/chat/completions', { model: 'gpt-4', messages: [{ role: 'user', content: 'from the master key' }] });
    const logs = (await api('GET', '/spend/logs?api_key=master_key&page_size=1000')).body.data;
    assert.ok(logs.some((l: any) => l.upstream_request_id === r.body.id));
    assert.ok(logs.every((l: any) => l.api_key === 'master_key'));
  });

  test('management routes of the ledger are for the master key', async () => {
    const key = (await api('POST', '/key/generate', {})).body.key;
    assert.equal((await api('GET', '/spend/logs', undefined, key)).status, 403);
    assert.equal((await api('GET', '/global/spend', undefined, key)).status, 403);
    assert.equal((await api('GET', '/spend/logs?start_date=yesterday')).status, 400);
  });
});

test('exactly once: the same batch written twice counts once', async () => {
  const db = openSqlite(':memory:');
  await migrate(db);
  await db.run(`INSERT INTO llmproxy_keys (token, key_name, created_at, updated_at) VALUES ('t1', 'sk-...', 'x', 'x')`);
  const rec = (id: string) => spendRecord(id);
  const batch = [rec('a'), rec('b'), rec('c')];
  assert.equal((await applyLedger(db, batch)).inserted, 3);
  assert.equal((await applyLedger(db, batch)).inserted, 0);
  assert.equal((await applyLedger(db, [rec('c'), rec('d')])).inserted, 1);
  assert.equal((await db.get<{ s: number }>('SELECT spend_nanos AS s FROM llmproxy_keys'))!.s, 4000);
  const hourly = await db.get<{ requests: number; cost_nanos: number; hour: string }>('SELECT * FROM llmproxy_spend_hourly');
  assert.deepEqual([hourly!.hour, hourly!.requests, hourly!.cost_nanos], ['2026-01-01T10:00:00Z', 4, 4000]);
  await db.close();
});

test('a request admitted before a budget reset is paid by the period that admitted it', async () => {
  const db = openSqlite(':memory:');
  await migrate(db);
  await db.run(`INSERT INTO llmproxy_keys (token, key_name, created_at, updated_at, budget_period_start) VALUES ('t1', 'sk-...', 'x', 'x', '2026-01-01T12:00:00.000Z')`);
  const rec = (id: string, started: string) => spendRecord(id, { started_at: started });
  const applied = await applyLedger(db, [rec('old', '2026-01-01T11:59:59.999Z'), rec('new', '2026-01-01T12:00:00.000Z')]);
  assert.equal(applied.inserted, 2);
  assert.equal(applied.keySpend.get('t1'), 1000);
  assert.equal((await db.get<{ s: number }>('SELECT spend_nanos AS s FROM llmproxy_keys'))!.s, 1000);
  await db.close();
});

test("a record's started_at is toISOString's, across seconds, years and the epoch", () => {
  const times = [0, 999, 1000, 951_782_399_999, 951_782_400_000, 1_767_225_599_999, 1_767_225_600_000, Date.now()];
  for (const ms of [...times, ...times.reverse()]) assert.equal(isoTime(ms), new Date(ms).toISOString());
});
