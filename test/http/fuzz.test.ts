// A property-based fuzz (fast-check, fixed seed, bounded count) of every route the gateway serves:
// bodies of wrong types, huge, negative and non-finite numbers, deep nesting, invalid UTF-8,
// duplicate keys, wrong content types and oversized bodies; queries and headers of the same kind.
// Whatever comes in: no 5xx, no hang, every error in the caller's envelope (Anthropic's on the
// Anthropic routes, else OpenAI's / LiteLLM's), and the process serving afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import fc from 'fast-check';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, MASTER_KEY, okCall, servedRoutes, startInProcess, type TestGateway } from '../helpers/gateway.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const BODY_LIMIT = 64 * 1024;

let fake: FakeUpstream;
let gw: TestGateway;
let virtualKey: string;

interface Route {
  method: string;
  path: string;
}

let routes: Route[] = [];

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(
    `${fakeModels(fake.url)}general_settings:\n  max_request_size_mb: ${BODY_LIMIT / 1024 / 1024}\nlitellm_settings:\n  cache: true\n  cache_params: { type: local }\n`,
  );
  routes = servedRoutes(gw.app);
  virtualKey = (await okCall(gw.url, 'POST', '/key/generate', { models: ['gpt-4'], max_budget: 10 })).key;
});
after(async () => {
  await gw.close();
  await fake.close();
});

// Valid bodies, which the fuzz then breaks a field at a time, so that it gets past the first check.
const TEMPLATES: Record<string, Record<string, unknown>> = {
  '/chat/completions': { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 },
  '/completions': { model: 'gpt-4', prompt: 'hi', max_tokens: 5 },
  '/embeddings': { model: 'gpt-4', input: 'hi' },
  '/rerank': { model: 'gpt-4', query: 'q', documents: ['a', 'b'] },
  '/responses': { model: 'gpt-4', input: 'hi', max_output_tokens: 5 },
  '/messages': { model: 'gpt-4', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] },
  '/messages/count_tokens': { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] },
  '/key/generate': { models: ['gpt-4'], max_budget: 1, duration: '1h', metadata: { a: 1 } },
  '/key/update': { key: 'sk-none', max_budget: 2 },
  '/user/new': { user_email: 'a@example.com', max_budget: 1, auto_create_key: false },
  '/team/new': { team_alias: 'fuzz', max_budget: 1 },
  '/team/member_add': { team_id: 't', member: { role: 'user', user_id: 'u' } },
  '/organization/new': { organization_alias: 'fuzz' },
  '/customer/new': { user_id: 'c', max_budget: 1 },
  '/budget/new': { budget_id: 'b', max_budget: 1 },
  '/tag/new': { name: 'fuzz' },
  '/ui/api/login': { username: 'admin', password: 'x' },
};

const FIELDS = [
  'model', 'messages', 'input', 'prompt', 'stream', 'max_tokens', 'temperature', 'n', 'tools', 'tool_choice', 'user', 'metadata',
  'key', 'keys', 'key_alias', 'user_id', 'team_id', 'organization_id', 'models', 'max_budget', 'budget_duration', 'duration',
  'tpm_limit', 'rpm_limit', 'max_parallel_requests', 'spend', 'member', 'members', 'tags', 'budget_id', 'user_ids', 'team_ids',
  'end_user_id', 'model_max_budget', 'allowed_cache_controls', 'fallbacks', 'cache', 'timeout', 'api_base', 'response_format',
  'stream_options', 'previous_response_id', 'system', 'thinking', 'documents', 'query', 'top_n', 'expires', 'blocked', 'role',
];

const deep = (n: number, open: string, close: string) => open.repeat(n) + close.repeat(n);

/** JSON texts: values of every kind, including what JSON.parse makes of 1e999 and of 10,000 levels. */
const nastyJson: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    'null', '-1', '0', '-0', '1e999', '-1e999', '9007199254740993', '1.5', '-123456789012345678901234567890', 'true', '""', '[]', '{}',
    '"NaN"', '"Infinity"', '"-1"', '"1e999"', '"\\u0000"', '"\\ud800"', JSON.stringify('x'.repeat(5000)),
    deep(10_000, '[', ']'), deep(2000, '{"a":', '}').replace(/}$/, '1}'),
    '[{"role":"user"}]', '[{"role":"tool","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]',
    '{"role":"user","content":[{"type":"nope"}]}',
  ),
  fc.integer().map(String),
  fc.double().map((d) => (Number.isFinite(d) ? String(d) : '1e999')),
  fc.string({ maxLength: 40 }).map((s) => JSON.stringify(s)),
);

/** A body: a template with fields replaced or added, or something that is no object at all. */
function bodyFor(path: string): fc.Arbitrary<Buffer> {
  const key = Object.keys(TEMPLATES).find((t) => path.endsWith(t));
  const template = key ? TEMPLATES[key]! : {};
  const base = Object.entries(template).map(([k, v]) => [k, JSON.stringify(v)] as [string, string]);
  const names = [...Object.keys(template), ...FIELDS];
  const object = fc.array(fc.tuple(fc.constantFrom(...names), nastyJson), { maxLength: 4 }).map((changes) => {
    // Later keys win in JSON.parse: a change to a template field comes as a duplicate key.
    const fields = [...base, ...changes];
    return Buffer.from(`{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
  });
  return fc.oneof(
    { weight: 6, arbitrary: object },
    { weight: 1, arbitrary: nastyJson.map((s) => Buffer.from(s)) },
    // Bytes that are not UTF-8, inside a string and bare.
    {
      weight: 1,
      arbitrary: fc.uint8Array({ minLength: 1, maxLength: 30 }).map((bytes) => {
        const json = JSON.stringify({ ...template, model: 'gpt-4' });
        return Buffer.concat([Buffer.from(json.slice(0, -1) + ',"x":"'), Buffer.from(bytes), Buffer.from('"}')]);
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.constant(Buffer.from(JSON.stringify({ ...template, pad: 'x'.repeat(BODY_LIMIT) }))) },
  );
}

const contentType = fc.constantFrom(
  'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/octet-stream', 'application/json; charset=latin1', '', 'ÿ/ÿ',
);

const QUERY_NAMES = ['key', 'user_id', 'team_id', 'organization_id', 'page', 'page_size', 'size', 'start_date', 'end_date', 'model', 'api_key', 'request_id', 'status', 'service', 'limit', 'after', 'before', 'order', 'include'];
const queryValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('-1', '0', '1e999', 'NaN', '99999999999999999999', '', '[]', '%ff', '%00', 'null', '2026-13-45', 'x'.repeat(2000)),
);
const query = fc.array(fc.tuple(fc.constantFrom(...QUERY_NAMES), queryValue), { maxLength: 4 }).map((pairs) =>
  pairs.length ? `?${pairs.map(([k, v]) => `${k}=${/^%[0-9a-f]{2}$/i.test(v) ? v : encodeURIComponent(v)}`).join('&')}` : '',
);
/** What a path parameter (`:id`, `:key`) becomes. */
const segment = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent), fc.constantFrom('%ff', '..', 'resp_1', 'sk-none', '%2F..%2F', 'x'.repeat(400)));

const credential = fc.constantFrom<'master' | 'virtual' | 'none' | 'x-api-key' | 'garbage'>('master', 'master', 'master', 'virtual', 'none', 'x-api-key', 'garbage');
const extraHeaders = fc.array(
  fc.tuple(fc.constantFrom('anthropic-version', 'anthropic-beta', 'x-litellm-timeout', 'x-litellm-tags', 'cache-control', 'openai-organization', 'content-encoding', 'x-forwarded-for', 'cookie', 'x-csrf-token', 'origin', 'sec-fetch-site'), fc.oneof(fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x')), fc.constantFrom('gzip', '-1', 'ÿÿ', 'llmproxy_session=%ff'))),
  { maxLength: 3 },
);

interface Sent {
  status: number;
  contentType: string;
  body: Buffer;
}

function send(method: string, path: string, headers: Record<string, string>, body: Buffer | null): Promise<Sent> {
  const url = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s (a hang)`)));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** The error's envelope is the caller's: Anthropic's on the Messages routes, else OpenAI's. */
function assertEnvelope(path: string, got: Sent, what: string): void {
  if (got.status < 400 || got.body.length === 0) return;
  let json: any;
  try {
    json = JSON.parse(got.body.toString());
  } catch {
    assert.fail(`${what}: ${got.status} with a body that is not JSON: ${got.body.toString().slice(0, 200)}`);
  }
  if (path.startsWith('/v1/messages')) {
    assert.equal(json.type, 'error', `${what}: Anthropic envelope ${got.body.toString().slice(0, 200)}`);
    assert.equal(typeof json.error?.type, 'string', what);
    assert.ok(typeof json.error?.message === 'string' && json.error.message.length > 0, what);
  } else {
    assert.ok(typeof json.error?.message === 'string' && json.error.message.length > 0, `${what}: OpenAI envelope ${got.body.toString().slice(0, 200)}`);
    assert.equal(typeof json.error.type, 'string', what);
  }
}

test('every route, fuzzed: no 5xx, no hang, errors in the caller’s envelope, and the process serves on', async () => {
  assert.ok(routes.length > 80, `the route tree was read (${routes.length} routes)`);
  const cases = fc.record({
    // A body made for the route, now and then another route's.
    routeBody: fc.constantFrom(...routes).chain((route) =>
      fc.tuple(fc.constant(route), fc.oneof({ weight: 4, arbitrary: bodyFor(route.path) }, { weight: 1, arbitrary: fc.constantFrom(...Object.keys(TEMPLATES)).chain(bodyFor) })),
    ),
    segment,
    query,
    credential,
    contentType,
    extraHeaders,
  });
  const seen = new Map<string, number>();
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      const [route, fuzzed] = c.routeBody;
      const path = route.path.replace(/:[a-z_]+|\*/g, c.segment) + c.query;
      const headers: Record<string, string> = {};
      if (c.contentType) headers['content-type'] = c.contentType;
      for (const [k, v] of c.extraHeaders) headers[k] = v;
      if (c.credential === 'master') headers.authorization = `Bearer ${MASTER_KEY}`;
      if (c.credential === 'virtual') headers.authorization = `Bearer ${virtualKey}`;
      if (c.credential === 'x-api-key') headers['x-api-key'] = MASTER_KEY;
      if (c.credential === 'garbage') headers.authorization = 'Bearer ÿ\u00ad sk-';
      const body = route.method === 'GET' || route.method === 'DELETE' ? null : fuzzed;
      const what = `${route.method} ${path} ${c.credential} [${c.contentType}] ${body?.subarray(0, 300).toString() ?? ''}`;
      const got = await send(route.method, path, headers, body);
      seen.set(`${route.method} ${route.path}`, (seen.get(`${route.method} ${route.path}`) ?? 0) + 1);
      statuses.set(got.status, (statuses.get(got.status) ?? 0) + 1);
      assert.ok(got.status < 500, `${what}: ${got.status} ${got.body.toString().slice(0, 300)}`);
      assertEnvelope(route.path, got, what);
    }),
    { seed: SEED, numRuns: Number(process.env.FUZZ_RUNS ?? 3000), endOnFailure: true },
  );
  assert.ok(seen.size > routes.length * 0.9, `most routes were tried (${seen.size} of ${routes.length})`);
  // The fuzz reaches past the first checks: a good share of the calls are served.
  const served = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
  if (process.env.FUZZ_VERBOSE) console.log(Object.fromEntries(statuses));
  assert.ok(served > 0.1 * [...statuses.values()].reduce((a, b) => a + b, 0), `calls served: ${JSON.stringify(Object.fromEntries(statuses))}`);

  // Still serving, and the ledger still written.
  const live = await send('GET', '/health/liveliness', {}, null);
  assert.equal(live.status, 200);
  const ok = await send('POST', '/chat/completions', { authorization: `Bearer ${virtualKey}`, 'content-type': 'application/json' }, Buffer.from(JSON.stringify(TEMPLATES['/chat/completions'])));
  assert.equal(ok.status, 200, ok.body.toString());
});

// What the fuzz found, each pinned.
test('a body nested 10,000 levels deep is a 400 naming the nesting, not a 500 (the cache key walk overflowed the stack)', async () => {
  const deepBody = `{"model":"gpt-4","query":"q","documents":["a"],"user_ids":${deep(10_000, '[', ']')}}`;
  const got = await send('POST', '/rerank', { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, Buffer.from(deepBody));
  assert.equal(got.status, 400);
  assert.match(JSON.parse(got.body.toString()).error.message, /nested too deeply/);
});

test('a query parameter given twice keeps its last value, as FastAPI reads it (it was a list, and a 500)', async () => {
  const got = await send('GET', `/key/info?key=sk-nothing&key=${virtualKey}`, { authorization: `Bearer ${MASTER_KEY}` }, null);
  assert.equal(got.status, 200, got.body.toString());
  assert.equal(JSON.parse(got.body.toString()).info.models[0], 'gpt-4');
});

test('a URL that does not decode is a 400 in the OpenAI envelope, not in the framework’s own', async () => {
  const got = await send('GET', '/v1/responses/%ff', { authorization: `Bearer ${MASTER_KEY}` }, null);
  assert.equal(got.status, 400);
  const body = JSON.parse(got.body.toString());
  assert.equal(body.error.type, 'bad_request_error');
  assert.match(body.error.message, /%ff/);
});
