// The user's own document (test/fixtures/seed/README.md, a copy of the seed README) run verbatim with
// bash, curl and jq against the real gateway process started the way the README says: .env from
// .env.sample, config.yaml from the repo, port 4000. Only `docker compose up` (the gateway is started
// here instead) and the call to api.openai.com itself are left out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { REPO, spawnGateway, type GatewayProcess } from '../helpers/gateway.ts';
import { databaseUrls } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp.ts';

// Async: the fake upstream answers from this same process.
const run = promisify(execFile);

let fake: FakeUpstream;

before(async () => {
  fake = await startFakeOpenAI({ apiKey: 'sk-your-openai-key' });
});

after(async () => {
  await fake?.close();
});

/** A fresh folder set up as the seed says, started with no arguments (like npm start). */
async function startAsTheSeedSays(databaseUrl: string | null): Promise<{ dir: string; gw: GatewayProcess }> {
  const dir = tempDir('seed');
  copyFileSync(join(REPO, 'config.yaml'), join(dir, 'config.yaml'));
  // "rename .env.sample to .env and provide missing values"
  let env = readFileSync(join(REPO, '.env.sample'), 'utf8').replace(/^# OPENAI_API_BASE=.*$/m, `OPENAI_API_BASE=${fake.url}`);
  if (databaseUrl) env = env.replace(/^# DATABASE_URL=.*$/m, `DATABASE_URL=${databaseUrl}`);
  writeFileSync(join(dir, '.env'), env);
  return { dir, gw: await spawnGateway({ cwd: dir }) };
}

function seedBlocks(): string[] {
  const md = readFileSync(join(REPO, 'test/fixtures/seed/README.md'), 'utf8');
  return [...md.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

for (const { name, url } of await databaseUrls()) {
  test(`every step of the seed README works verbatim (${name})`, async () => {
    const { dir, gw } = await startAsTheSeedSays(url);
    try {
      await seedSteps(dir);
    } finally {
      await gw.stop();
    }
  });
}

async function seedSteps(dir: string): Promise<void> {
  const before = fake.requests.length;
  const blocks = seedBlocks().filter((b) => !b.includes('docker compose up') && !b.includes('api.openai.com'));
  assert.equal(blocks.length, 7, 'the seed has seven steps to run against the gateway');
  const script = blocks.map((b, i) => `echo "@@STEP ${i}@@"\n${b}\necho\n`).join('') + 'echo "@@KEY=$VIRTUAL_KEY@@"\n';
  const { stdout: out } = await run('bash', ['-c', script], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
  const steps = out.split(/@@STEP \d+@@\n/).slice(1).map((s) => s.trim());
  const virtualKey = /@@KEY=(.*)@@/.exec(out)?.[1] ?? '';
  const json = (i: number) => JSON.parse(steps[i]!.split('\n')[0]!);

  // 0: export $(grep -v '^#' .env | xargs) prints nothing
  assert.equal(steps[0], '');
  // 1: the master key calls gpt-3.5-turbo
  assert.equal(json(1).object, 'chat.completion');
  assert.match(json(1).choices[0].message.content, /Hello/);
  // 2: /key/generate set VIRTUAL_KEY
  assert.match(virtualKey, /^sk-[A-Za-z0-9_-]{20,}$/);
  // 3: the virtual key calls gpt-4
  assert.equal(json(3).object, 'chat.completion');
  // 4: ...and is refused gpt-3.5-turbo
  assert.equal(json(4).error.type, 'key_model_access_denied');
  assert.equal(json(4).error.code, '403');
  // 5: /key/info shows the key, its models, metadata and spend
  const info = json(5).info;
  assert.deepEqual(info.models, ['gpt-4']);
  assert.deepEqual(info.metadata, { user: 'someone@example.com' });
  assert.equal(typeof info.spend, 'number');
  // 6: /key/delete
  assert.deepEqual(json(6), { deleted_keys: [virtualKey] });

  // Upstream saw the provider key from .env, never a client credential, and the right models.
  const mine = fake.requests.slice(before);
  assert.deepEqual(mine.map((r) => r.body.model), ['gpt-3.5-turbo', 'gpt-4']);
  for (const r of mine) assert.equal(r.headers.authorization, 'Bearer sk-your-openai-key');

  // The deleted key is refused from now on.
  const { stdout: after } = await run('curl', ['-s', '-w', '\n%{http_code}', 'http://0.0.0.0:4000/chat/completions', '-H', `Authorization: Bearer ${virtualKey}`,
    '-H', 'Content-Type: application/json', '-d', '{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}'], { encoding: 'utf8' });
  const [body, status] = after.trim().split('\n');
  assert.equal(status, '401');
  assert.equal(JSON.parse(body!).error.type, 'auth_error');
  assert.equal(fake.requests.length, before + 2);
}
