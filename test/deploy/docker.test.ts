// What can be checked of the Docker set-up without a Docker engine: the compose file and the
// Dockerfile say what the README promises, and a production install (npm ci --omit=dev) starts on the
// pinned Node and answers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { REPO, spawnGateway } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
let fake: FakeUpstream;
before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  await fake.close();
});

test('compose.yaml: the gateway on port 4000, settings from .env, a volume for its data', () => {
  const compose = parse(readFileSync(join(REPO, 'compose.yaml'), 'utf8'));
  const gw = compose.services['llm-proxy'];
  assert.equal(gw.build, '.');
  assert.deepEqual(gw.ports, ['4000:4000']);
  assert.equal(gw.env_file, '.env');
  assert.ok(gw.volumes.some((v: string) => v.endsWith(':/app/data')), 'data volume');
  assert.ok(gw.volumes.includes('./config.yaml:/app/config.yaml:ro'));
  assert.ok('llm-proxy-data' in compose.volumes);
  // PostgreSQL beside it, started first, and the gateway pointed at it
  assert.match(compose.services.postgres.image, /^postgres:/);
  assert.equal(gw.depends_on.postgres.condition, 'service_healthy');
  assert.match(gw.environment.DATABASE_URL, /^postgresql:\/\/llmproxy:.*@postgres:5432\/llmproxy$/);
  // .env.sample holds what the seed's curl calls use
  const sample = readFileSync(join(REPO, '.env.sample'), 'utf8');
  for (const v of ['LITELLM_MASTER_KEY', 'OPENAI_API_KEY', 'PORT']) assert.match(sample, new RegExp(`^${v}=\\S+$`, 'm'), v);
});

test('compose.instances.yaml: three instances behind nginx, one PostgreSQL, one Redis, a journal volume each', () => {
  // (merge keys: compose reads `<<: *llm-proxy` as YAML 1.1 does)
  const compose = parse(readFileSync(join(REPO, 'compose.instances.yaml'), 'utf8'), { merge: true });
  const names = ['llm-proxy-1', 'llm-proxy-2', 'llm-proxy-3'];
  const volumes = new Set<string>();
  for (const n of names) {
    const gw = compose.services[n];
    assert.equal(gw.build, '.');
    assert.equal(gw.ports, undefined, `${n} is reached through the load balancer only`);
    assert.match(gw.environment.DATABASE_URL, /^postgresql:\/\/llmproxy:.*@postgres:5432\/llmproxy$/);
    assert.equal(gw.environment.REDIS_URL, 'redis://redis:6379');
    assert.equal(gw.depends_on.redis.condition, 'service_healthy');
    const data = gw.volumes.find((v: string) => v.endsWith(':/app/data'));
    assert.ok(data && data.split(':')[0] in compose.volumes);
    volumes.add(data);
  }
  assert.equal(volumes.size, 3, 'a journal is never shared');
  assert.deepEqual(compose.services.nginx.ports, ['4000:4000']);
  assert.match(compose.services.redis.image, /^redis:/);
  const nginx = readFileSync(join(REPO, 'deploy/nginx.conf'), 'utf8');
  for (const n of names) assert.match(nginx, new RegExp(`server ${n}:4000`));
  assert.match(nginx, /proxy_buffering off;/, 'streams pass unbuffered');
});

test('Dockerfile: Node 24 slim, production dependencies, non-root, the entry the README starts', () => {
  const df = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  assert.match(df, /^FROM node:24-slim$/m);
  assert.match(df, /npm ci --omit=dev/);
  assert.match(df, /^USER node$/m);
  assert.match(df, /^EXPOSE 4000$/m);
  // the same Node flags as npm start
  const start = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
  assert.ok(df.includes(`CMD [${start.map((a) => JSON.stringify(a)).join(', ')}, `), 'CMD runs what npm start runs');
  for (const path of ['bin', 'src', 'config.yaml', 'package-lock.json']) assert.match(df, new RegExp(`COPY [^\\n]*${path.replace('.', '\\.')}`), path);
});

test('a production install (npm ci --omit=dev) starts with the pinned Node, answers and serves the dashboard', { timeout: 240_000 }, async () => {
  const dir = tempDir('prod');
  const { stdout } = await run('git', ['ls-files'], { cwd: REPO });
  for (const f of stdout.split('\n').filter((f) => f && !f.startsWith('test/') && !f.startsWith('bench/'))) {
    cpSync(join(REPO, f), join(dir, f), { recursive: true });
  }
  await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, timeout: 200_000 });
  const pinned = join(dir, 'node_modules/.bin/node');
  const { stdout: version } = await run(pinned, ['--version']);
  assert.match(version, /^v24\./);
  // The Dockerfile's warm-up of Node's compile cache, its lines joined as Docker joins them (on a free port).
  const warmUp = /^RUN (LITELLM_MASTER_KEY=sk-warm-up(?:[^\n]*\\\n)*[^\n]*)/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'))![1]!.replaceAll('\\\n', ' ');
  const port = await freePort();
  const cache = join(dir, '.compile-cache');
  const env = { PATH: `${dirname(pinned)}:${process.env.PATH}`, HOME: process.env.HOME, NODE_COMPILE_CACHE: cache };
  await run('sh', ['-c', warmUp.replaceAll('4999', String(port))], { cwd: dir, env, timeout: 60_000 });
  assert.ok(readdirSync(cache, { recursive: true }).length > 100, 'the compile cache is filled');
  writeFileSync(join(dir, 'config.yaml'), `model_list:\n  - model_name: gpt-4\n    litellm_params: { model: openai/gpt-4, api_base: "${fake.url}" }\n`);
  const gw = await spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: 'sk-prod-master', ...env }, node: pinned });
  try {
    const res = await fetch(`${gw.url}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-prod-master' }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(res.status, 200);
    // The dashboard needs nothing the production install leaves out.
    for (const path of ['/ui', '/ui/app.js', '/ui/vendor/preact.js', '/ui/vendor/uplot.js']) assert.equal((await fetch(`${gw.url}${path}`)).status, 200, path);
  } finally {
    await gw.stop();
  }
});
