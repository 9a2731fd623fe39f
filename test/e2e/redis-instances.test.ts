// Three gateway processes behind one "load balancer" (the client spreads its calls over them), on one
// PostgreSQL and one Redis: team, organization, customer, member and tag budgets, rpm and parallel limits hold
// across all three as on one, and a budget's alerts fire once; an instance killed with -9 under load gives back what it held when its
// lease ends and loses no answered call from the ledger; Redis going away is refused (closed) or survived per instance (open), and recovered from.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { startWebhookReceiver } from '../fakes/webhook-receiver.ts';
import { okCall, spawnGateway, type GatewayProcess } from '../helpers/gateway.ts';
import { freePort, freshPostgresUrl, ownRedis, POSTGRES, REDIS } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp.ts';
import { startRawUpstream } from '../helpers/upstream.ts';

const MASTER = 'sk-master-redis-instances';
// Ids of this run: Redis is shared with earlier runs (their windows last a minute, their leases 10 s).
const RUN = randomBytes(3).toString('hex');
const id = (name: string) => `${name}-${RUN}`;
// 1 $/MTok in, 2 $/MTok out; one answer is 1 prompt token + 15 output tokens.
const ANSWER = 1 * 1000 + 15 * 2000;
const skip = !POSTGRES || !REDIS ? 'TEST_POSTGRES_URL and TEST_REDIS_URL are not set (.ci/run sets them)' : false;

let fake: FakeUpstream;
const started: GatewayProcess[] = [];
before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  for (const g of started) await g.stop('SIGKILL');
  await fake.close();
});

/** Where each instance runs (its journal is under it) and its database: to start it again. */
const dirs = new Map<GatewayProcess, { dir: string; db: string }>();

async function gateways(n: number, opts: { redisUrl?: string; yaml?: string; db?: string } = {}): Promise<GatewayProcess[]> {
  const db = opts.db ?? (await freshPostgresUrl());
  const one = async () => {
    const dir = tempDir('redis-instance');
    writeFileSync(
      join(dir, 'config.yaml'),
      `model_list:
  - model_name: gpt-4
    litellm_params: { model: openai/gpt-4, api_base: "${fake.url}", api_key: sk-up, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
${opts.yaml ?? ''}`,
    );
    const g = await spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: MASTER, DATABASE_URL: db, REDIS_URL: opts.redisUrl ?? REDIS! } });
    started.push(g);
    dirs.set(g, { dir, db });
    return g;
  };
  // The first one migrates the database; the others start together.
  const first = await one();
  return [first, ...(await Promise.all(Array.from({ length: n - 1 }, one)))];
}

const admin = (g: GatewayProcess, path: string, body: unknown) => okCall(g.url, 'POST', path, body, MASTER);
async function chat(g: GatewayProcess, key: string, extra: Record<string, unknown> = {}, content = 'hi') {
  const res = await fetch(`${g.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }], ...extra }),
  });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, body: text.startsWith('{') ? JSON.parse(text) : null };
}
/** The spend the ledger recorded for a filter of /spend/logs, once every instance has written its `expectCount` records. */
async function logged(g: GatewayProcess, filter: string, expectCount: number): Promise<number> {
  for (let i = 0; ; i++) {
    const r = await fetch(`${g.url}/spend/logs?${filter}&page_size=1000`, { headers: { authorization: `Bearer ${MASTER}` } });
    const data = ((await r.json()) as any).data as { spend: number }[];
    if (data.length >= expectCount || i > 50) return data.reduce((s, l) => s + Math.round(l.spend * 1e9), 0);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * 200 calls at once, spread over the instances, on a budget that fits 10 answers, then one call at a
 * time until the budget refuses: never over it, and all of it usable (nothing leaked by the burst).
 */
async function runOnBudget(gws: GatewayProcess[], keys: string[], filter: string, who: RegExp, extra: Record<string, unknown>, budget = 10 * ANSWER, before = 0) {
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => chat(gws[i % gws.length]!, keys[i % keys.length]!, { max_tokens: 15, ...extra })));
  for (let i = 0; i < 20; i++) {
    const r = await chat(gws[i % gws.length]!, keys[i % keys.length]!, { max_tokens: 15, ...extra });
    results.push(r);
    if (r.status !== 200) break;
  }
  // (with max_tokens reserved in full, a stream is never cut: each call is answered whole or refused)
  const answered = results.filter((r) => r.status === 200 && !r.text.includes('"error"'));
  const refused = results.filter((r) => r.status === 429);
  assert.equal(answered.length + refused.length, results.length, results.find((r) => !answered.includes(r) && r.status !== 429)?.text);
  for (const r of refused) {
    assert.equal(r.body.error.type, 'budget_exceeded');
    assert.match(r.body.error.message, who);
  }
  const spent = await logged(gws[0]!, `${filter}&status=success`, before + answered.length);
  assert.ok(spent <= budget, `spent ${spent} > budget ${budget}`);
  assert.equal(spent, (before + answered.length) * ANSWER, 'the spend is exactly what the clients were shown');
  // The last answer's reservation (its prompt estimate and max_tokens, about 1.7 answers) must fit: 9 of 10.
  const fits = Math.floor(budget / ANSWER);
  assert.ok(before + answered.length >= fits - 1, `only ${before + answered.length} of ${fits} answers used`);
}

describe('three instances on one Redis', { skip }, () => {
  let gws: GatewayProcess[] = [];
  before(async () => {
    if (!skip) gws = await gateways(3);
  });

  for (const stream of [false, true]) {
    test(`a team budget that fits 10 answers holds 200 parallel calls over 3 instances (${stream ? 'streamed' : 'plain'})`, async () => {
      const team = id(`t3-${stream}`);
      await admin(gws[0]!, '/team/new', { team_id: team, max_budget: (10 * ANSWER) / 1e9 });
      const keys = await Promise.all(gws.map(async (g) => (await admin(g, '/key/generate', { team_id: team })).key as string));
      await runOnBudget(gws, keys, `team_id=${team}`, new RegExp(`^Budget has been exceeded! Team=${team} `), { stream });
    });
  }

  test('a stream is cut by a team budget that calls on the other instances spend at the same time', async () => {
    const CUT = id('cut3');
    // Room for about 100 output tokens in all; the long stream alone would produce 2,000. Its metering
    // steps are round trips to Redis, each holding its output until the answer.
    const budget = 5_000 + 100 * 2000;
    await admin(gws[0]!, '/team/new', { team_id: CUT, max_budget: budget / 1e9 });
    const keys = await Promise.all(gws.map(async (g) => (await admin(g, '/key/generate', { team_id: CUT })).key as string));
    // A few answers teach the instance what output to expect of the model (else a stream asking for
    // 100,000 tokens reserves the model's maximum output, which this budget cannot pay).
    const warm = (await admin(gws[0]!, '/key/generate', {})).key;
    for (let i = 0; i < 3; i++) assert.equal((await chat(gws[0]!, warm, { max_tokens: 15 })).status, 200);
    const seen = fake.requests.length;
    const longCall = chat(gws[0]!, keys[0]!, { stream: true, max_tokens: 100_000 }, '[[chunks:2000]] [[gap:1]] long');
    // The others start once the stream is admitted and on its way (admitted after them, it could be
    // refused: their reservations together are more than the budget).
    while (!fake.requests.slice(seen).some((r) => JSON.stringify(r.body).includes('[[chunks:2000]]'))) await new Promise((r) => setTimeout(r, 5));
    const [long, ...rest] = await Promise.all([
      longCall,
      ...[1, 2].flatMap((i) => [chat(gws[i]!, keys[i]!, { max_tokens: 15 }), chat(gws[i]!, keys[i]!, { max_tokens: 15, stream: true })]),
    ]);
    assert.equal(long!.status, 200);
    const frames = long!.text.split('\n\n').filter(Boolean);
    assert.equal(JSON.parse(frames.at(-1)!.slice(6)).error.type, 'budget_exceeded');
    assert.ok(!long!.text.includes('[DONE]'));
    assert.ok(frames.length > 20, `the stream ran a while before it was cut (${frames.length} frames)`);
    for (const x of rest) assert.ok(x.status === 200 || x.status === 429, String(x.status));
    // Every call is recorded, refused ones too (at 0).
    const spent = await logged(gws[1]!, `team_id=${CUT}`, 1 + rest.length);
    // The bound of one instance: one metering step of the stream (a quarter of its reservation) and the
    // chunks in flight beyond the budget; the short answers are reserved whole.
    assert.ok(spent <= budget * 1.5, `spent ${spent} of ${budget}`);
  });

  test("an admin's spend set by hand (/user/update spend) holds on every instance at once", async () => {
    const USER = id('u-reset3');
    await admin(gws[0]!, '/user/new', { user_id: USER, max_budget: (2 * ANSWER) / 1e9, auto_create_key: false });
    const key = (await admin(gws[1]!, '/key/generate', { user_id: USER })).key;
    let answered = 0;
    for (let i = 0; i < 5; i++) if ((await chat(gws[i % 3]!, key, { max_tokens: 15 })).status === 200) answered++;
    assert.equal(answered, 1, 'the budget holds one reservation at a time, and then one answer more does not fit');
    assert.equal((await chat(gws[2]!, key, { max_tokens: 15 })).status, 429);
    await admin(gws[0]!, '/user/update', { user_id: USER, spend: 0 });
    await new Promise((r) => setTimeout(r, 200)); // the change reaches the other instances (NOTIFY)
    assert.equal((await chat(gws[2]!, key, { max_tokens: 15 })).status, 200, 'from 0 again, on another instance');
  });

  test('an organization budget and a customer budget hold the same way', async () => {
    const [PLAN, ORG, CUST] = [id('plan-ten'), id('org3'), id('cust3')];
    const teams = [id('o3-a'), id('o3-b')];
    await admin(gws[0]!, '/budget/new', { budget_id: PLAN, max_budget: (10 * ANSWER) / 1e9 });
    await admin(gws[0]!, '/organization/new', { organization_id: ORG, organization_alias: ORG, budget_id: PLAN });
    for (const t of teams) await admin(gws[1]!, '/team/new', { team_id: t, organization_id: ORG });
    const orgKeys = await Promise.all(teams.map(async (t, i) => (await admin(gws[i]!, '/key/generate', { team_id: t })).key as string));
    await runOnBudget(gws, orgKeys, `organization_id=${ORG}`, new RegExp(`^Budget has been exceeded! Organization=${ORG} `), {});

    await admin(gws[2]!, '/customer/new', { user_id: CUST, budget_id: PLAN });
    const free = await Promise.all(gws.map(async (g) => (await admin(g, '/key/generate', {})).key as string));
    await runOnBudget(gws, free, `end_user=${CUST}`, new RegExp(`^Budget has been exceeded! Customer=${CUST} `), { user: CUST });
  });

  test("a key's budget for one model (model_max_budget) holds the same way", async () => {
    const key = (await admin(gws[2]!, '/key/generate', { model_max_budget: { 'gpt-4': { budget_limit: (10 * ANSWER) / 1e9, time_period: '1d' } } })).key as string;
    await runOnBudget(gws, [key], `api_key=${key}`, /^Budget has been exceeded! Model=gpt-4 \(this key's model_max_budget\) /, {});
  });

  test("a tag's budget holds the same way, for calls that name it", async () => {
    const TAG = id('project:x3');
    await admin(gws[0]!, '/tag/new', { name: TAG, max_budget: (10 * ANSWER) / 1e9 });
    // One key of no team, used on every instance (its calls are the ledger's filter).
    const key = (await admin(gws[1]!, '/key/generate', {})).key as string;
    await runOnBudget(gws, [key], `api_key=${key}`, new RegExp(`^Budget has been exceeded! Tag=${TAG} `), { metadata: { tags: [TAG] } });
    const info = await admin(gws[2]!, '/tag/info', { names: [TAG] });
    assert.equal(Math.round(info[TAG].spend * 1e9), await logged(gws[0]!, `api_key=${key}&status=success`, 0));
  });

  test("a team member's share (max_budget_in_team) holds the same way, set on one instance and held on all", async () => {
    const [TEAM, USER] = [id('m3-team'), id('m3-user')];
    await admin(gws[0]!, '/team/new', { team_id: TEAM, max_budget: 1 });
    await admin(gws[0]!, '/user/new', { user_id: USER, auto_create_key: false });
    await admin(gws[0]!, '/team/member_add', { team_id: TEAM, member: { user_id: USER, role: 'user' } });
    const keys = await Promise.all(gws.map(async (g) => (await admin(g, '/key/generate', { team_id: TEAM, user_id: USER })).key as string));
    // A call on each instance first, so that each has the membership (with no share) in its cache.
    for (const [i, g] of gws.entries()) assert.equal((await chat(g, keys[i]!, { max_tokens: 15 })).status, 200);
    // Their spend recorded (a share given in the ledger's flush interval after spend on other instances
    // starts from what the instance first using it knows, and is checked against the database 2 s on).
    await logged(gws[0]!, `team_id=${TEAM}`, 3);
    await admin(gws[1]!, '/team/member_update', { team_id: TEAM, user_id: USER, max_budget_in_team: (13 * ANSWER) / 1e9 });
    await new Promise((r) => setTimeout(r, 200)); // the change reaches the other instances (NOTIFY)
    await runOnBudget(gws, keys, `team_id=${TEAM}&user_id=${USER}`, new RegExp(`^Budget has been exceeded! User=${USER} in Team=${TEAM} `), {}, 13 * ANSWER, 3);
  });

  test("rpm limits of a key and a team, a key's and a team's parallel limit and a team tpm limit hold across the instances", async () => {
    const key = (await admin(gws[0]!, '/key/generate', { rpm_limit: 10 })).key;
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => chat(gws[i % 3]!, key)));
    assert.equal(results.filter((r) => r.status === 200).length, 10);
    const refused = results.find((r) => r.status === 429)!;
    assert.equal(refused.body.error.type, 'rate_limit_error');
    assert.match(refused.body.error.message, /rpm_limit of this key \(10 requests per minute\)/);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(refused.headers.get('x-ratelimit-limit-requests'), '10');

    // A team's rpm over a key on each instance: the same one window.
    const RPM = id('rpm3');
    await admin(gws[0]!, '/team/new', { team_id: RPM, rpm_limit: 6 });
    const teamKeys = await Promise.all(gws.map(async (g) => (await admin(g, '/key/generate', { team_id: RPM })).key as string));
    const teamCalls = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(gws[i % 3]!, teamKeys[(i + 1) % 3]!)));
    assert.equal(teamCalls.filter((r) => r.status === 200).length, 6);
    assert.match(teamCalls.find((r) => r.status === 429)!.body.error.message, new RegExp(`rpm_limit of team ${RPM} \\(6 requests per minute\\)`));

    const slow = (await admin(gws[1]!, '/key/generate', { max_parallel_requests: 2 })).key;
    // 30 calls that each take 400 ms, spread over 3 instances at once: 2 in flight, not 2 per instance.
    const calls = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(gws[i % 3]!, slow, {}, '[[delay:400]] slow')));
    const ok = calls.filter((r) => r.status === 200).length;
    assert.ok(ok >= 1 && ok <= 2, `${ok} admitted at once`);
    assert.match(calls.find((r) => r.status === 429)!.body.error.message, /max_parallel_requests of this key \(2\)/);
    // Given back: two more get through.
    assert.equal((await Promise.all([chat(gws[2]!, slow), chat(gws[0]!, slow)])).filter((r) => r.status === 200).length, 2);

    // A team's max_parallel_requests over a key on each instance: 2 in flight for the whole team.
    const NARROW = id('par3');
    await admin(gws[0]!, '/team/new', { team_id: NARROW, max_parallel_requests: 2 });
    const narrowKeys = await Promise.all(gws.map(async (g) => (await admin(g, '/key/generate', { team_id: NARROW })).key as string));
    const narrowCalls = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(gws[i % 3]!, narrowKeys[(i + 2) % 3]!, {}, '[[delay:400]] slow')));
    const inFlight = narrowCalls.filter((r) => r.status === 200).length;
    assert.ok(inFlight >= 1 && inFlight <= 2, `${inFlight} admitted at once`);
    assert.match(narrowCalls.find((r) => r.status === 429)!.body.error.message, new RegExp(`max_parallel_requests of team ${NARROW} \\(2\\) are in flight`));
    assert.equal((await Promise.all([chat(gws[1]!, narrowKeys[0]!), chat(gws[2]!, narrowKeys[1]!)])).filter((r) => r.status === 200).length, 2);

    // A team's tpm over a key on each instance: each call in flight holds its expected tokens (prompt
    // estimate, body bytes / 4, and max_tokens) in the one window, whatever instance it is on.
    const TPM = id('tpm3');
    const content = '[[delay:300]] slow';
    const expected = Math.ceil(Buffer.byteLength(JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content }], max_tokens: 15 })) / 4) + 15;
    await admin(gws[0]!, '/team/new', { team_id: TPM, tpm_limit: 3 * expected + 5 });
    const tpmKeys = await Promise.all(gws.map(async (g) => (await admin(g, '/key/generate', { team_id: TPM })).key as string));
    const tpmCalls = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(gws[i % 3]!, tpmKeys[(i + 1) % 3]!, { max_tokens: 15 }, content)));
    assert.equal(tpmCalls.filter((r) => r.status === 200).length, 3);
    assert.match(tpmCalls.find((r) => r.status === 429)!.body.error.message, new RegExp(`tpm_limit of team ${TPM} \\(${3 * expected + 5} tokens per minute\\)`));
    // What they used (17 tokens each) replaced what they held: room for two more (51 + 17 + expected).
    for (const g of [gws[1]!, gws[2]!]) assert.equal((await chat(g, tpmKeys[0]!, { max_tokens: 15 }, content)).status, 200);
  });

  test('an instance killed with -9 under load: what it held stops counting when its lease ends', async () => {
    const [a, b] = [gws[2]!, gws[0]!];
    const key = (await admin(b, '/key/generate', { max_parallel_requests: 1, max_budget: 1 })).key;
    // A long stream on A holds the key's one slot.
    const ctl = new AbortController();
    const long = fetch(`${a.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-4', stream: true, max_tokens: 15, messages: [{ role: 'user', content: '[[chunks:400]] [[gap:50]] long' }] }),
      signal: ctl.signal,
    }).then((r) => r.body?.getReader().read(), () => null);
    await long;
    assert.equal((await chat(b, key)).status, 429, 'the slot is held by A');
    await a.stop('SIGKILL');
    ctl.abort();
    const killedAt = Date.now();
    let status = 429;
    while (status === 429 && Date.now() - killedAt < 20_000) {
      status = (await chat(b, key)).status;
      if (status === 429) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(status, 200, "B gets the slot once A's lease has ended");
    assert.ok(Date.now() - killedAt <= 15_000, `took ${Date.now() - killedAt} ms`);
  });
});

describe('an instance killed with -9 under load', { skip }, () => {
  test('every call answered before it died is in the ledger once, once it is back; none is there twice', async () => {
    const gws = await gateways(3);
    const key = (await admin(gws[0]!, '/key/generate', { max_budget: 1 })).key as string;
    // Streams of about half a second on every instance, plain calls between them.
    const calls = Array.from({ length: 60 }, async (_, i) => {
      const g = gws[i % 3]!;
      try {
        const res = await fetch(`${g.url}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
          body: JSON.stringify({ model: 'gpt-4', stream: i % 2 === 0, max_tokens: 15, messages: [{ role: 'user', content: `[[chunks:10]] [[gap:${20 + (i % 7) * 10}]] call ${i}` }] }),
        });
        const text = await res.text();
        const whole = res.status === 200 && (i % 2 === 0 ? text.includes('[DONE]') : text.includes('"usage"'));
        return { id: res.headers.get('x-litellm-call-id')!, whole, on: i % 3 };
      } catch {
        return { id: null, whole: false, on: i % 3 };
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    await gws[0]!.stop('SIGKILL');
    const results = await Promise.all(calls);
    assert.ok(results.some((r) => r.on === 0 && r.whole), 'some calls on the killed instance were answered');
    assert.ok(results.some((r) => r.on === 0 && !r.whole), 'some were cut');
    // Back, on its journal: what it answered and did not write yet is written now.
    const { dir, db } = dirs.get(gws[0]!)!;
    const back = await spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: MASTER, DATABASE_URL: db, REDIS_URL: REDIS! } });
    started.push(back);
    const answered = results.filter((r) => r.whole).map((r) => r.id!);
    let ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${back.url}/spend/logs?page_size=1000`, { headers: { authorization: `Bearer ${MASTER}` } });
      ids = (((await r.json()) as any).data as { request_id: string }[]).map((l) => l.request_id);
      if (answered.every((a) => ids.includes(a))) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    for (const a of answered) assert.ok(ids.includes(a), `answered call ${a} is in the ledger`);
    assert.equal(new Set(ids).size, ids.length, 'no call is recorded twice');
    assert.ok(ids.length <= results.length);
  });
});

describe("deployments' own limits across three instances", { skip }, () => {
  test("a deployment rpm holds for all instances together, and its tpm window holds every instance's calls in flight", async () => {
    const limited = id('dep');
    const slow = '[[delay:300]] hi';
    const body = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: slow }], max_tokens: 15 });
    // A call holds its prompt estimate (body bytes / 4) and max_tokens while it runs; it then uses 16.
    const expected = Math.ceil(Buffer.byteLength(body(`${limited}-tpm`)) / 4) + 15;
    const yaml = `  - model_name: ${limited}-rpm
    litellm_params: { model: openai/gpt-4, api_base: "${fake.url}", api_key: sk-up, rpm: 6 }
  - model_name: ${limited}-tpm
    litellm_params: { model: openai/gpt-4, api_base: "${fake.url}", api_key: sk-up, tpm: ${2 * expected + 5} }
`;
    const gws = await gateways(3, { yaml });
    // A key with a token limit of its own: its window and the deployment's settle in one script.
    const key = (await admin(gws[0]!, '/key/generate', { tpm_limit: 1_000_000 })).key as string;
    const ask = (g: GatewayProcess, model: string) =>
      fetch(`${g.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: body(model) }).then(async (r) => {
        await r.text();
        return r.status;
      });
    const rpm = await Promise.all(Array.from({ length: 15 }, (_, i) => ask(gws[i % 3]!, `${limited}-rpm`)));
    assert.equal(rpm.filter((x) => x === 200).length, 6, rpm.join(' '));
    assert.ok(rpm.every((x) => x === 200 || x === 429));
    // The window is empty, but two calls in flight, on any instances, hold all of it.
    const tpm = await Promise.all(Array.from({ length: 6 }, (_, i) => ask(gws[i % 3]!, `${limited}-tpm`)));
    assert.deepEqual([...tpm].sort(), [200, 200, 429, 429, 429, 429]);
    // They used 32 of the 2 x ${expected} they held: room for one more, on any instance.
    assert.equal(await ask(gws[2]!, `${limited}-tpm`), 200);
  });
});

describe('deployment cooldowns across three instances', { skip }, () => {
  test('a deployment one instance rests is rested by all of them', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const group = id('cool');
    const yaml = `  - model_name: ${group}
    litellm_params: { model: openai/gpt-4, api_base: "${fake.url}", api_key: sk-up }
  - model_name: ${group}
    litellm_params: { model: openai/gpt-4, api_base: "${dead}", api_key: sk-up }
router_settings:
  allowed_fails: 0
  cooldown_time: 30
`;
    const gws = await gateways(3, { yaml });
    const ask = (g: GatewayProcess) =>
      fetch(`${g.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}` }, body: JSON.stringify({ model: group, messages: [{ role: 'user', content: 'hi' }] }) }).then(async (r) => {
        await r.text();
        return r.status;
      });
    // On the first instance until the dead deployment has failed once (allowed_fails 0: it rests).
    let failed = false;
    for (let i = 0; i < 50 && !failed; i++) failed = (await ask(gws[0]!)) !== 200;
    assert.ok(failed);
    await new Promise((r) => setTimeout(r, 200));
    // The others never pick it (half their calls would fail otherwise).
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => ask(gws[1 + (i % 2)]!)));
    assert.deepEqual([...new Set(statuses)], [200], statuses.join(' '));
  });
});

describe('routing measures across instances', { skip }, () => {
  test("latency-based routing on one instance goes by what another measured (a slow deployment it never called is not tried)", async () => {
    let slowCalls = 0;
    const slow = await startRawUpstream((_req, res) => {
      slowCalls++;
      setTimeout(() => {
        const body = JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      }, 80);
    });
    try {
      const group = id('latency');
      const yaml = `  - model_name: ${group}
    litellm_params: { model: openai/gpt-4, api_base: "${fake.url}", api_key: sk-up }
  - model_name: ${group}
    litellm_params: { model: openai/gpt-4, api_base: "${slow.base}/v1", api_key: sk-up }
router_settings:
  routing_strategy: latency-based-routing
`;
      const [a, b] = await gateways(2, { yaml });
      const ask = (g: GatewayProcess) =>
        fetch(`${g.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}` }, body: JSON.stringify({ model: group, messages: [{ role: 'user', content: 'hi' }] }) }).then((r) => r.text());
      for (let i = 0; i < 10; i++) await ask(a!);
      assert.equal(slowCalls, 1, 'the first instance measured it once');
      // (each instance publishes and reads every second)
      await new Promise((r) => setTimeout(r, 2300));
      for (let i = 0; i < 10; i++) await ask(b!);
      assert.equal(slowCalls, 1, 'the second knew it was slow without trying it');
    } finally {
      await slow.close();
    }
  });
});

describe('budget alerts from three instances', { skip }, () => {
  test('each threshold of a team budget that 200 parallel calls over 3 instances spend fires once, from one of them', async () => {
    const hook = await startWebhookReceiver();
    try {
      const yaml = `general_settings:
  alerting: ["webhook"]
  alerting_args:
    budget_alert_thresholds: [50, 80, 100]
environment_variables:
  WEBHOOK_URL: "${hook.url}"
`;
      const gws = await gateways(3, { yaml });
      const team = id('alerted');
      await admin(gws[0]!, '/team/new', { team_id: team, max_budget: (10 * ANSWER) / 1e9, soft_budget: (3 * ANSWER) / 1e9 });
      const keys = await Promise.all(gws.map(async (g) => (await admin(g, '/key/generate', { team_id: team })).key as string));
      await runOnBudget(gws, keys, `team_id=${team}`, new RegExp(`^Budget has been exceeded! Team=${team} `), {});
      const mine = (e: any) => e.event_group === 'team' && e.team_id === team;
      for (let i = 0; i < 100 && hook.events.filter(mine).length < 4; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      const events = hook.events.filter(mine);
      assert.deepEqual(events.map((e) => `${e.event} ${e.threshold}`).sort(), ['budget_crossed 1', 'soft_budget_crossed null', 'threshold_crossed 0.5', 'threshold_crossed 0.8']);
      // Seen with the spend of every instance, not one's: each at or past its threshold, below the budget.
      for (const e of events) {
        const at = e.event === 'soft_budget_crossed' ? 3 * ANSWER : e.threshold * 10 * ANSWER;
        assert.ok(Math.round(e.spend * 1e9) >= Math.min(at, 9 * ANSWER) && e.spend * 1e9 <= 10 * ANSWER, JSON.stringify(e));
      }
    } finally {
      await hook.close();
    }
  });
});

describe('Redis goes away and comes back', { skip }, () => {
  test("Redis restarted empty: a budget's spend is rebuilt from the database, not from one instance's view", async () => {
    let redis = await ownRedis();
    try {
      const gws = await gateways(3, { redisUrl: redis.url });
      const TEAM = id('rebuilt');
      await admin(gws[0]!, '/team/new', { team_id: TEAM, max_budget: (10 * ANSWER) / 1e9 });
      const keys = await Promise.all(gws.map(async (g) => (await admin(g, '/key/generate', { team_id: TEAM })).key as string));
      // Six answers, two on each instance; each instance's cache saw its own two only.
      for (let i = 0; i < 6; i++) assert.equal((await chat(gws[i % 3]!, keys[i % 3]!, { max_tokens: 15 })).status, 200);
      await logged(gws[0]!, `team_id=${TEAM}`, 6);
      await redis.stop();
      redis = await ownRedis(redis.port);
      for (let i = 0; i < 100; i++) {
        const states = await Promise.all(gws.map(async (g) => ((await (await fetch(`${g.url}/health/readiness`)).json()) as any).redis));
        if (states.every((s) => s === 'connected')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // The first call after the restart makes the counter from that instance's view (its two answers)...
      assert.equal((await chat(gws[0]!, keys[0]!, { max_tokens: 15 })).status, 200);
      // ...which is checked against the database a little later: seven answers spent.
      await new Promise((r) => setTimeout(r, 2_500));
      let answered = 7;
      for (let i = 0; i < 10; i++) {
        const r = await chat(gws[i % 3]!, keys[i % 3]!, { max_tokens: 15 });
        if (r.status !== 200) {
          assert.equal(r.status, 429);
          break;
        }
        answered++;
      }
      const spent = await logged(gws[1]!, `team_id=${TEAM}&status=success`, answered);
      assert.ok(spent <= 10 * ANSWER, `spent ${spent} of ${10 * ANSWER}: the counter started from one instance's view`);
      assert.equal(spent, answered * ANSWER);
      assert.ok(answered >= 9, `${answered} answered`);
    } finally {
      await redis.stop();
    }
  });

  for (const mode of ['closed', 'open'] as const) {
    test(`${mode}: ${mode === 'closed' ? 'calls with limits or budgets are refused with 503 and readiness fails' : 'each instance keeps its limits and budgets alone and readiness says degraded'}; all recovers by itself`, async () => {
      let redis = await ownRedis();
      const port = redis.port;
      try {
        const [g1, g2] = await gateways(2, { redisUrl: redis.url, yaml: `general_settings:\n  redis_failure_mode: ${mode}\n` });
        const limited = (await admin(g1!, '/key/generate', { max_budget: (5 * ANSWER) / 1e9 })).key;
        const free = (await admin(g1!, '/key/generate', {})).key;
        assert.equal((await chat(g2!, limited, { max_tokens: 15 })).status, 200);
        const ready = await fetch(`${g1!.url}/health/readiness`);
        assert.equal(ready.status, 200);
        assert.deepEqual({ ...((await ready.json()) as object), litellm_version: undefined }, { status: 'healthy', db: 'connected', cache: 'redis', redis: 'connected', litellm_version: undefined });

        await redis.stop();
        const r = await chat(g1!, limited, { max_tokens: 15 });
        const readiness = await fetch(`${g1!.url}/health/readiness`);
        if (mode === 'closed') {
          assert.equal(r.status, 503, r.text);
          assert.equal(r.body.error.type, 'service_unavailable');
          assert.equal(r.headers.get('retry-after'), '1');
          // In Anthropic's envelope on its route (Claude Code retries a 5xx api_error).
          const m = await fetch(`${g1!.url}/v1/messages`, {
            method: 'POST',
            headers: { 'x-api-key': limited, 'anthropic-version': '2023-06-01' },
            body: JSON.stringify({ model: 'gpt-4', max_tokens: 15, messages: [{ role: 'user', content: 'hi' }] }),
          });
          assert.equal(m.status, 503);
          assert.equal(m.headers.get('retry-after'), '1');
          const mb = (await m.json()) as any;
          assert.equal(mb.type, 'error');
          assert.equal(mb.error.type, 'api_error');
          assert.match(mb.error.message, /shared counters \(Redis\) are unreachable/);
          assert.equal(readiness.status, 503);
        } else {
          assert.equal(r.status, 200, r.text);
          assert.equal(readiness.status, 200);
          assert.equal(((await readiness.json()) as any).status, 'degraded');
        }
        assert.equal((await chat(g1!, free)).status, 200, 'a call with no limit and no budget needs no counter');

        redis = await ownRedis(port);
        let back = 0;
        for (let i = 0; i < 100 && back !== 200; i++) {
          back = (await fetch(`${g1!.url}/health/readiness`)).status;
          if (back !== 200 || ((await (await fetch(`${g1!.url}/health/readiness`)).json()) as any).redis !== 'connected') {
            back = 0;
            await new Promise((res) => setTimeout(res, 100));
          }
        }
        assert.equal(back, 200, 'readiness recovers by itself');
        assert.equal((await chat(g2!, limited, { max_tokens: 15 })).status, 200, 'shared again');
      } finally {
        await redis.stop();
      }
    });
  }
});
