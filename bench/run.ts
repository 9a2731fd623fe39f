// npm run bench [-- --scenario NAME] [--quick] [--out DIR] [--no-portkey] [--no-litellm]  (scenarios: see SCENARIOS;
// `redis` needs REDIS_URL, and takes BENCH_POSTGRES_URL for three instances on one database)
// Starts the fake upstream, the bare proxy, Portkey's gateway, the LiteLLM proxy (from PyPI, in
// bench/.venv, made on the first run) and this checkout's gateway (features
// off: master key; features on: a virtual key with a model allow-list, a budget and an RPM limit),
// runs the scenarios, prints a table and writes JSON results with the machine's description.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { request } from 'undici';
import { body, fixedRate, interleaved, streams, type Shape, type StreamResult, type Target } from './load.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCENARIOS = ['latency', 'throughput', 'translation', 'responses', 'routing', 'cache', 'fixed-rate', 'streaming', 'slow-clients', 'large-body', 'cold-start', 'dashboard', 'redis'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
    'no-portkey': { type: 'boolean', default: false },
    'no-litellm': { type: 'boolean', default: false },
  },
});
// (redis runs by default only where a Redis is named)
const chosen: Scenario[] = (values.scenario as Scenario[] | undefined) ?? SCENARIOS.filter((s) => s !== 'redis' || process.env.REDIS_URL);
for (const s of chosen) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; one of ${SCENARIOS.join(', ')}`);
const quick = values.quick;

/** Upstream shapes, as path prefixes understood by bench/fake-upstream.ts. */
const SHAPES = {
  fast: { name: 'bench-fast', path: '/f/0/16/0/64' },
  slow50: { name: 'bench-50ms', path: '/f/50/16/0/64' },
  stream: { name: 'bench-stream', path: quick ? '/f/0/8/20/256' : '/f/0/64/100/256' },
  // 16 MB as fast as it is read: what a client that stops reading leaves the proxy to hold.
  long: { name: 'bench-long', path: '/f/0/4000/0/4096' },
} satisfies Record<string, Shape>;
const MASTER = 'sk-bench-master-key';

// ---- processes -------------------------------------------------------------------------------

const children: ChildProcess[] = [];
const tempDirs: string[] = [];
process.on('exit', () => {
  children.forEach((c) => c.kill('SIGKILL'));
  tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function start(name: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, cwd = ROOT): Promise<{ proc: ChildProcess; match: RegExpExecArray; startedAt: number }> {
  const startedAt = performance.now();
  const proc = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 30_000);
    const onData = (c: Buffer) => {
      out += c;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        out = '';
        proc.stdout!.off('data', onData);
        proc.stdout!.resume();
        resolve({ proc, match: m, startedAt });
      }
      if (out.length > 100_000) out = out.slice(-10_000);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c) => (out += c));
    proc.on('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${out}`)));
  });
}

/** CPU time (ms) a process has used so far, from /proc. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** A Gemini deployment on the fake, for the cost of translating (the translation scenario). */
const GEMINI_MODEL = 'bench-gemini';
/** An OpenAI-compatible deployment that does not speak the Responses API: its Responses calls go through chat. */
const COMPAT_MODEL = 'bench-compat';
/** A group of eight deployments (all on the fake's fast path), for the cost of routing within a group. */
const GROUP8_MODEL = 'bench-group8';

function gatewayConfig(fakeUrl: string): string {
  const prices = '      input_cost_per_token: 0.0000025\n      output_cost_per_token: 0.00001\n';
  return `model_list:\n${Object.values(SHAPES)
    .map((s) => `  - model_name: ${s.name}\n    litellm_params:\n      model: openai/${s.name}\n      api_base: ${fakeUrl}${s.path}/v1\n      api_key: sk-upstream\n${prices}`)
    .join('')}${Array.from({ length: 8 }, (_, i) => `  - model_name: ${GROUP8_MODEL}\n    litellm_params:\n      model: openai/${SHAPES.fast.name}\n      api_base: ${fakeUrl}${SHAPES.fast.path}/v1\n      api_key: sk-upstream-${i}\n${prices}`).join('')}  - model_name: ${GEMINI_MODEL}\n    litellm_params:\n      model: gemini/bench\n      api_base: ${fakeUrl}\n      api_key: sk-upstream\n${prices}  - model_name: ${COMPAT_MODEL}\n    litellm_params:\n      model: openai_like/bench\n      api_base: ${fakeUrl}/v1\n      api_key: sk-upstream\n${prices}`;
}

/** The Node flags `npm start` runs the gateway with (package.json), so the bench measures what ships. */
const START_FLAGS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start
  .split(' ')
  .filter((a) => a.startsWith('--'));

/** A gateway on a fresh database, or on the one in `dir` (its keys kept); `env` adds to its environment. */
async function startGateway(fakeUrl: string, dir?: string, env: NodeJS.ProcessEnv = {}): Promise<{ proc: ChildProcess; url: string; startedAt: number; dir: string }> {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'llm-proxy-bench-'));
    tempDirs.push(dir);
    writeFileSync(join(dir, 'config.yaml'), gatewayConfig(fakeUrl));
  }
  const g = await start(
    'gateway',
    [...START_FLAGS, join(ROOT, 'bin/llm-proxy.mjs'), '--config', join(dir, 'config.yaml'), '--port', '0', '--host', '127.0.0.1'],
    { LITELLM_MASTER_KEY: MASTER, DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`, LOG_LEVEL: 'info', ...env },
    /listening on http:\/\/[^:]+:(\d+)/,
    // Its own working directory: with PostgreSQL the journal is ./data/journal, one per instance.
    dir,
  );
  return { proc: g.proc, url: `http://127.0.0.1:${g.match[1]}`, startedAt: g.startedAt, dir };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// ---- statistics and output -------------------------------------------------------------------

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (us: number) => Math.round(us) / 1000;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const results: Record<string, unknown> = {};
const tables: string[] = [];
function table(title: string, header: string[], rows: (string | number)[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => `| ${r.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
  const text = [`${title}`, line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
  tables.push(text);
  console.log(`\n${text}`);
}

// ---- main -------------------------------------------------------------------------------------

const fake = await start('fake-upstream', ['bench/fake-upstream.ts'], {}, /listening on (\d+)/);
const fakeUrl = `http://127.0.0.1:${fake.match[1]}`;
const startBare = () => start('bare-proxy', ['bench/bare-proxy.ts', '--target', fakeUrl], {}, /listening on (\d+)/);
let bare = await startBare();
let bareUrl = `http://127.0.0.1:${bare.match[1]}`;
let gw = await startGateway(fakeUrl);

/** A virtual key with every feature a request checks: a model allow-list, a budget, RPM and TPM limits. */
async function virtualKeyOn(gatewayUrl: string): Promise<string> {
  const res = await request(`${gatewayUrl}/key/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: JSON.stringify({ models: [...Object.values(SHAPES).map((s) => s.name), GEMINI_MODEL, COMPAT_MODEL, GROUP8_MODEL], max_budget: 1_000_000, rpm_limit: 10_000_000, tpm_limit: 10_000_000_000 }),
  });
  return ((await res.body.json()) as { key: string }).key;
}
const virtualKey = await virtualKeyOn(gw.url);

const auth = { authorization: 'Bearer sk-upstream' };
const direct: Target = { name: 'direct', url: (s) => `${fakeUrl}${s.path}/v1/chat/completions`, headers: auth, model: (s) => s.name };
const bareT: Target = { name: 'bare proxy', url: (s) => `${bareUrl}${s.path}/v1/chat/completions`, headers: auth, model: (s) => s.name };
const gwOff: Target = { name: 'llm-proxy (features off)', url: () => `${gw.url}/v1/chat/completions`, headers: { authorization: `Bearer ${MASTER}` }, model: (s) => s.name };
const gwOn: Target = { name: 'llm-proxy (features on)', url: () => `${gw.url}/v1/chat/completions`, headers: { authorization: `Bearer ${virtualKey}` }, model: (s) => s.name };
const targets: Target[] = [direct, bareT, gwOff, gwOn];
const pids = new Map<string, number>([[bareT.name, bare.proc.pid!], [gwOff.name, gw.proc.pid!], [gwOn.name, gw.proc.pid!]]);

/**
 * A new process for the bare proxy or the gateway (the same database: keys kept), so that what a
 * scenario measures of memory is not what earlier scenarios left behind.
 */
async function restart(t: Target): Promise<void> {
  const stop = async (proc: ChildProcess) => {
    proc.kill('SIGTERM');
    if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
  };
  if (t === bareT) {
    await stop(bare.proc);
    bare = await startBare();
    bareUrl = `http://127.0.0.1:${bare.match[1]}`;
    pids.set(bareT.name, bare.proc.pid!);
  } else if (t === gwOff || t === gwOn) {
    await stop(gw.proc);
    gw = await startGateway(fakeUrl, gw.dir);
    pids.set(gwOff.name, gw.proc.pid!);
    pids.set(gwOn.name, gw.proc.pid!);
  }
}

/** Headers a target needs for a shape (Portkey takes the upstream from a header). */
let shapeHeaders = (t: Target, _s: Shape): Record<string, string> => t.headers;
if (!values['no-portkey']) {
  const port = await freePort();
  const pk = await start(
    'portkey',
    ['node_modules/@portkey-ai/gateway/build/start-server.js', `--port=${port}`, '--headless'],
    { NODE_ENV: 'production' },
    /Ready for connections/,
  );
  const withHost = (s: Shape) => ({ authorization: 'Bearer sk-upstream', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${fakeUrl}${s.path}/v1` });
  targets.push({ name: 'portkey', url: () => `http://127.0.0.1:${port}/v1/chat/completions`, headers: withHost(SHAPES.fast), model: (s) => s.name });
  pids.set('portkey', pk.proc.pid!);
  shapeHeaders = (t, s) => (t.name === 'portkey' ? withHost(s) : t.headers);
}

/** The LiteLLM proxy release measured, from PyPI. */
const LITELLM_VERSION = '1.110.2';
const VENV = join(ROOT, 'bench/.venv');

/** Makes bench/.venv with the LiteLLM proxy once; returns why it cannot, or null. */
async function litellmVenv(): Promise<string | null> {
  const exe = join(VENV, 'bin/litellm');
  const version = join(VENV, 'litellm-version');
  if (existsSync(exe) && existsSync(version) && readFileSync(version, 'utf8') === LITELLM_VERSION) return null;
  const run = (cmd: string, args: string[]) =>
    new Promise<string | null>((resolve) => {
      const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (c) => (err = (err + c).slice(-2000)));
      p.on('error', (e) => resolve(e.message));
      p.on('exit', (code) => resolve(code === 0 ? null : `${cmd} ${args.slice(0, 3).join(' ')} exited ${code}: ${err.trim().split('\n').pop()}`));
    });
  console.log(`LiteLLM proxy: installing litellm[proxy]==${LITELLM_VERSION} from PyPI into bench/.venv (once)`);
  const pip = join(VENV, 'bin/pip');
  let failed = (await run('python3', ['-m', 'venv', VENV])) ?? (await run(pip, ['install', '-q', `litellm[proxy]==${LITELLM_VERSION}`]));
  if (failed) {
    // The proxy extra pins meta-packages (litellm-proxy, the extras and enterprise at exact versions)
    // that an index may not serve, although the proxy's code is in litellm's own wheel: then litellm,
    // and the extra's other requirements as its metadata lists them.
    console.log(`LiteLLM proxy: ${failed}; installing litellm and the proxy extra's requirements one by one`);
    failed = await run(pip, ['install', '-q', `litellm==${LITELLM_VERSION}`]);
    if (!failed) {
      const site = join(VENV, 'lib', readdirSync(join(VENV, 'lib')).find((d) => d.startsWith('python'))!, 'site-packages');
      const metadata = readFileSync(join(site, `litellm-${LITELLM_VERSION}.dist-info/METADATA`), 'utf8');
      const reqs = [...metadata.matchAll(/^Requires-Dist: (.+?) ?; ?(.*?)extra == 'proxy'$/gm)].flatMap(([, req, marker]) => {
        const name = /^[A-Za-z0-9_.-]+/.exec(req!)![0];
        if (name === 'litellm-proxy') return [];
        const condition = marker!.replace(/ and $/, '').trim();
        return [`${name === 'litellm-proxy-extras' || name === 'litellm-enterprise' ? name : req}${condition ? ` ; ${condition}` : ''}`];
      });
      const file = join(VENV, 'proxy-requirements.txt');
      writeFileSync(file, `${reqs.join('\n')}\n`);
      failed = await run(pip, ['install', '-q', '-r', file]);
    }
  }
  if (!failed) writeFileSync(version, LITELLM_VERSION);
  return failed;
}

/**
 * The LiteLLM proxy on the same fake upstream, with the same model names: a master key, no database,
 * one worker (`--num_workers 1`), the price map it ships (no download at start). Returns where it
 * answers, or why it cannot run here.
 */
async function startLitellm(): Promise<{ missing: string } | { url: string; pid: number }> {
  const missing = await litellmVenv();
  if (missing) return { missing };
  const dir = mkdtempSync(join(tmpdir(), 'llm-proxy-bench-litellm-'));
  tempDirs.push(dir);
  const models = Object.values(SHAPES).map((sh) => `  - model_name: ${sh.name}\n    litellm_params:\n      model: openai/${sh.name}\n      api_base: ${fakeUrl}${sh.path}/v1\n      api_key: sk-upstream\n`);
  writeFileSync(join(dir, 'config.yaml'), `model_list:\n${models.join('')}`);
  const port = await freePort();
  // No database: not even an empty DATABASE_URL, which LiteLLM refuses.
  const { DATABASE_URL: _unused, ...env } = process.env;
  const proc = spawn(join(VENV, 'bin/litellm'), ['--config', join(dir, 'config.yaml'), '--port', String(port), '--host', '127.0.0.1', '--num_workers', '1'], {
    cwd: dir,
    env: { ...env, LITELLM_MASTER_KEY: MASTER, LITELLM_LOCAL_MODEL_COST_MAP: 'True', LITELLM_LOG: 'ERROR' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(proc);
  let err = '';
  proc.stderr!.on('data', (c) => (err = (err + c).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240 && proc.exitCode === null; i++) {
    try {
      const r = await request(`${url}/health/liveliness`);
      await r.body.dump();
      if (r.statusCode === 200) return { url, pid: proc.pid! };
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  proc.kill('SIGKILL');
  return { missing: `it did not start: ${err.trim().split('\n').slice(-3).join(' / ')}` };
}

if (!values['no-litellm']) {
  const lt = await startLitellm();
  if ('missing' in lt) {
    results.litellm = { missing: lt.missing };
    console.log(`LiteLLM proxy: missing from every table (${lt.missing})`);
  } else {
    targets.push({ name: 'litellm proxy', url: () => `${lt.url}/v1/chat/completions`, headers: { authorization: `Bearer ${MASTER}` }, model: (sh) => sh.name });
    pids.set('litellm proxy', lt.pid);
    results.litellm = { version: LITELLM_VERSION, workers: 1, database: false };
  }
}
const forShape = (t: Target, s: Shape): Target => ({ ...t, headers: shapeHeaders(t, s) });

// sanity: every target answers
for (const t of targets) {
  const s = SHAPES.fast;
  const r = await request(t.url(s), { method: 'POST', headers: { 'content-type': 'application/json', ...forShape(t, s).headers }, body: body(s.name) });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`${t.name} answered ${r.statusCode}: ${text}`);
}

async function latency(): Promise<void> {
  const rounds = quick ? 50 : 2000;
  const ts = targets.map((t) => forShape(t, SHAPES.fast));
  const lat = await interleaved(ts, SHAPES.fast, rounds);
  const base = lat.get('direct')!;
  const rows = ts.filter((t) => t.name !== 'direct').map((t) => {
    const diffs = lat.get(t.name)!.map((v, i) => v - base[i]!);
    return { target: t.name, addedP50Ms: ms(pct(diffs, 50)), addedP99Ms: ms(pct(diffs, 99)), p50Ms: ms(pct(lat.get(t.name)!, 50)) };
  });
  results.latency = { rounds, directP50Ms: ms(pct(base, 50)), rows };
  table(`Added latency at concurrency 1 (${rounds} interleaved rounds; direct p50 ${ms(pct(base, 50))} ms)`, ['target', 'added p50 ms', 'added p99 ms'], rows.map((r) => [r.target, r.addedP50Ms, r.addedP99Ms]));
}

async function throughput(): Promise<void> {
  const seconds = quick ? 2 : 15;
  // Two passes, the second in reverse order, so that warm-up and drift do not favour whoever runs last.
  const acc = new Map<string, { requests: number; seconds: number; cpuMs: number; errors: number; p99: number[] }>();
  for (const order of [targets, [...targets].reverse()]) {
    for (const t0 of order) {
      const t = forShape(t0, SHAPES.fast);
      const pid = pids.get(t.name);
      const options = {
        url: t.url(SHAPES.fast),
        method: 'POST' as const,
        connections: 32,
        headers: { 'content-type': 'application/json', ...t.headers },
        body: body(SHAPES.fast.name),
      };
      await autocannon({ ...options, duration: quick ? 1 : 3 }); // warm-up, not counted
      const cpu0 = pid ? cpuMs(pid) : 0;
      const r = await autocannon({ ...options, duration: seconds });
      const a = acc.get(t.name) ?? { requests: 0, seconds: 0, cpuMs: 0, errors: 0, p99: [] };
      a.requests += r.requests.total;
      a.seconds += r.duration;
      a.cpuMs += pid ? cpuMs(pid) - cpu0 : 0;
      a.errors += r.errors + r.non2xx;
      a.p99.push(r.latency.p99);
      acc.set(t.name, a);
      await sleep(500);
    }
  }
  const rows = targets.map((t) => {
    const a = acc.get(t.name)!;
    return {
      target: t.name,
      rps: Math.round(a.requests / a.seconds),
      cpuMsPerRequest: pids.has(t.name) ? round(a.cpuMs / a.requests, 4) : null,
      errors: a.errors,
      p99Ms: Math.max(...a.p99),
    };
  });
  const ref = (name: string) => rows.find((r) => r.target === name)?.rps;
  results.throughput = { seconds, passes: 2, connections: 32, rows };
  table(`Throughput (0 ms upstream, 32 connections, 2 passes of ${seconds} s)`, ['target', 'req/s', 'x bare', 'x portkey', 'CPU ms/req', 'p99 ms', 'errors'], rows.map((r) => [
    r.target, r.rps, round(r.rps / (ref('bare proxy') ?? NaN)), ref('portkey') ? round(r.rps / ref('portkey')!) : '-', r.cpuMsPerRequest ?? '-', r.p99Ms, r.errors,
  ]));
}

interface Measured {
  requests: number;
  cpuMs: number;
  seconds: number;
  errors: number;
}

/**
 * The gateway's CPU for each case (a path and a body, with the virtual key) at 32 connections: two
 * passes of `seconds` each after a second's warm-up, the second pass in the reverse order, so that
 * drift favours none. Sums by label.
 */
async function alternatingCpu(cases: { label: string; path: string; body: string }[], seconds: number): Promise<Map<string, Measured>> {
  const pid = gw.proc.pid!;
  const acc = new Map<string, Measured>();
  for (let pass = 0; pass < 2; pass++) {
    for (const c of pass === 0 ? cases : [...cases].reverse()) {
      const options = { url: `${gw.url}${c.path}`, method: 'POST' as const, connections: 32, headers: { 'content-type': 'application/json', authorization: `Bearer ${virtualKey}` }, body: c.body };
      await autocannon({ ...options, duration: 1 }); // warm-up, not counted
      const cpu0 = cpuMs(pid);
      const r = await autocannon({ ...options, duration: seconds });
      const a = acc.get(c.label) ?? { requests: 0, cpuMs: 0, seconds: 0, errors: 0 };
      a.requests += r.requests.total;
      a.cpuMs += cpuMs(pid) - cpu0;
      a.seconds += r.duration;
      a.errors += r.errors + r.non2xx;
      acc.set(c.label, a);
      await sleep(500);
    }
  }
  return acc;
}

/**
 * What translating costs: CPU per request of the gateway (features on) for an OpenAI deployment (the
 * client's bytes passed through) and for a Gemini one (request and answer translated), plain and
 * streamed (16 frames), at 32 connections. Two passes each, alternating, so drift favours neither.
 */
async function translation(): Promise<void> {
  const seconds = quick ? 2 : 10;
  const rows = [];
  for (const stream of [false, true]) {
    const acc = await alternatingCpu([SHAPES.fast.name, GEMINI_MODEL].map((m) => ({ label: m, path: '/v1/chat/completions', body: body(m, { stream }) })), seconds);
    const cpu = (m: string) => acc.get(m)!.cpuMs / acc.get(m)!.requests;
    for (const [m, label] of [[SHAPES.fast.name, 'openai (passthrough)'], [GEMINI_MODEL, 'gemini (translated)']] as const) {
      const a = acc.get(m)!;
      rows.push({ upstream: label, stream, rps: Math.round(a.requests / a.seconds), cpuMsPerRequest: round(cpu(m), 4), xPassthrough: round(cpu(m) / cpu(SHAPES.fast.name)), errors: a.errors });
    }
  }
  results.translation = { seconds, passes: 2, connections: 32, rows };
  table(`Translation cost (gateway, features on, 32 connections, 2 passes of ${seconds} s)`, ['upstream', 'stream', 'req/s', 'CPU ms/req', 'x passthrough CPU', 'errors'], rows.map((r) => [r.upstream, String(r.stream), r.rps, r.cpuMsPerRequest, r.xPassthrough, r.errors]));
}

/**
 * What the Responses API costs: CPU per request of the gateway (features on) for chat passthrough, the
 * Responses API passed through to OpenAI's own, and Responses translated through chat (an upstream that
 * speaks chat only), plain and streamed, at 32 connections; two passes, alternating.
 */
async function responsesScenario(): Promise<void> {
  const seconds = quick ? 2 : 10;
  const cases = [
    { label: 'chat passthrough', path: '/v1/chat/completions', body: (stream: boolean) => body(SHAPES.fast.name, { stream }) },
    { label: 'responses passthrough', path: '/v1/responses', body: (stream: boolean) => JSON.stringify({ model: SHAPES.fast.name, input: 'Say hello in one short sentence.', stream }) },
    { label: 'responses via chat', path: '/v1/responses', body: (stream: boolean) => JSON.stringify({ model: COMPAT_MODEL, input: 'Say hello in one short sentence.', stream }) },
  ];
  const rows = [];
  for (const stream of [false, true]) {
    const acc = await alternatingCpu(cases.map((c) => ({ label: c.label, path: c.path, body: c.body(stream) })), seconds);
    const cpu = (label: string) => acc.get(label)!.cpuMs / acc.get(label)!.requests;
    for (const c of cases) {
      const a = acc.get(c.label)!;
      rows.push({ route: c.label, stream, rps: Math.round(a.requests / a.seconds), cpuMsPerRequest: round(cpu(c.label), 4), xChat: round(cpu(c.label) / cpu('chat passthrough')), errors: a.errors });
    }
  }
  results.responses = { seconds, passes: 2, connections: 32, rows };
  table(`Responses API cost (gateway, features on, 32 connections, 2 passes of ${seconds} s)`, ['route', 'stream', 'req/s', 'CPU ms/req', 'x chat passthrough CPU', 'errors'], rows.map((r) => [r.route, String(r.stream), r.rps, r.cpuMsPerRequest, r.xChat, r.errors]));
}

async function fixedRateScenario(): Promise<void> {
  const rate = quick ? 100 : 1000;
  const seconds = quick ? 2 : 30;
  const rows = [];
  // Not the LiteLLM proxy: an open loop of 1,000 requests/s into a server that answers a few hundred
  // at best queues for many minutes and measures only the queue.
  for (const t0 of targets.filter((t) => t.name !== 'litellm proxy')) {
    await fixedRate(forShape(t0, SHAPES.slow50), SHAPES.slow50, rate, quick ? 1 : 3); // warm-up, not counted
    const r = await fixedRate(forShape(t0, SHAPES.slow50), SHAPES.slow50, rate, seconds);
    rows.push({ target: t0.name, p50Ms: round(ms(r.p50) - 50), p99Ms: round(ms(r.p99) - 50), p999Ms: round(ms(r.p999) - 50), errors: r.errors, sent: r.sent });
    await sleep(500);
  }
  results.fixedRate = { rate, seconds, upstreamMs: 50, rows };
  table(`Fixed rate (${rate} req/s, 50 ms upstream, ${seconds} s): latency minus 50 ms`, ['target', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors'], rows.map((r) => [r.target, r.p50Ms, r.p99Ms, r.p999Ms, r.errors]));
}

/**
 * Waits (up to 10 s) until a process uses under 2 % of a core: what a round leaves to do (Portkey
 * went on working after its failed streams) must not land on the next target's round.
 */
async function quiet(pid: number): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const cpu0 = cpuMs(pid);
    await sleep(500);
    if (cpuMs(pid) - cpu0 <= 10) return;
  }
}

async function streaming(): Promise<void> {
  const count = quick ? 20 : 1000;
  const gapMs = quick ? 20 : 100;
  const rounds = quick ? 1 : 3;
  // Fresh processes, one per target (the features-on gateway gets a second one), so that the resident
  // memory of each is that of its own streams, not what earlier scenarios or targets left behind.
  await restart(bareT);
  await restart(gwOff);
  const second = await startGateway(fakeUrl);
  const onKey = await virtualKeyOn(second.url);
  const ts = targets.map((t) =>
    forShape(t === gwOn ? { ...gwOn, url: () => `${second.url}/v1/chat/completions`, headers: { authorization: `Bearer ${onKey}` } } : t, SHAPES.stream),
  );
  const pidOf = (t: Target) => (t.name === gwOn.name ? second.proc.pid : pids.get(t.name));
  // Each warmed up at the same load (not counted): the first gateway row otherwise paid 6-18 ms more to
  // first tokens than the second for its heap growth. LiteLLM is warmed up and measured after the
  // others: its 1,000 streams keep its process busy for longer than quiet() waits after them, and the
  // targets measured next paid for it (the bare proxy: 0.66 ms to first token alone, 2.64 ms after).
  const isLitellm = (t: Target) => t.name === 'litellm proxy';
  const others = ts.filter((t) => !isLitellm(t));
  for (const t of others) await streams(t, SHAPES.stream, count, 1);
  // Interleaved rounds, every other one in reverse order: measured one target after the other, the
  // same target's median moved by up to 2.7 ms from one round to the next (the machine's neighbours),
  // more than the differences between targets. Streams are pooled per target; the p99s and the memory
  // plateau are its worst round's.
  const acc = new Map(ts.map((t) => [t.name, { runs: [] as StreamResult[], cpuMs: 0, plateau: NaN }]));
  const measure = async (t: Target) => {
    const a = acc.get(t.name)!;
    const pid = pidOf(t);
    const cpu0 = pid ? cpuMs(pid) : 0;
    a.runs.push(await streams(t, SHAPES.stream, count, 1, () => {
      if (pid) a.plateau = Math.max(rssMb(pid), Number.isNaN(a.plateau) ? 0 : a.plateau);
    }, quick ? 50 : 1000));
    if (pid) {
      a.cpuMs += cpuMs(pid) - cpu0;
      await quiet(pid);
    }
  };
  for (let k = 0; k < rounds; k++) for (const t of k % 2 ? [...others].reverse() : others) await measure(t);
  const litellm = ts.find(isLitellm);
  if (litellm) {
    await streams(litellm, SHAPES.stream, count, 1);
    for (let k = 0; k < rounds; k++) await measure(litellm);
  }
  await sleep(quick ? 100 : 2000);
  const direct = acc.get('direct')!.runs;
  const directOutside = pct(direct.flatMap((r) => r.outside), 50) ?? NaN;
  const rows = ts.map((t) => {
    const { runs, cpuMs: spent, plateau } = acc.get(t.name)!;
    const pid = pidOf(t);
    const frames = runs.reduce((n, r) => n + r.frames, 0);
    return {
      target: t.name,
      addedTtftP50Ms: round(ms((pct(runs.flatMap((r) => r.outside), 50) ?? NaN) - directOutside)),
      addedTtftP50ByRoundMs: runs.map((r, k) => round(ms(r.outsideP50 - direct[k]!.outsideP50))),
      ownWorkP50Ms: round(pct(runs.flatMap((r) => r.ownWork), 50) ?? NaN, 3),
      ttftP99Ms: ms(Math.max(...runs.map((r) => r.ttftP99))),
      gapP99Ms: round(ms(Math.max(...runs.map((r) => r.gapP99))) - gapMs),
      cpuUsPerFrame: pid ? round((spent * 1000) / Math.max(1, frames), 1) : null,
      rssPlateauMb: round(plateau, 1),
      rssAfterMb: round(pid ? rssMb(pid) : NaN, 1),
      frames,
      errors: runs.reduce((n, r) => n + r.errors, 0),
    };
  });
  second.proc.kill('SIGTERM');
  await new Promise((r) => second.proc.once('exit', r));
  results.streaming = { streams: count, chunkGapMs: gapMs, rounds, rows };
  table(`Streaming (${count} concurrent streams, a chunk every ${gapMs} ms, ${rounds} interleaved rounds)`, ['target', 'added TTFT p50 ms', 'own work p50 ms', 'TTFT p99 ms', 'gap p99 - gap ms', 'CPU µs/frame', 'RSS plateau MB', 'RSS after MB', 'errors'],
    rows.map((r) => [r.target, Number.isNaN(r.addedTtftP50Ms) ? '-' : r.addedTtftP50Ms, Number.isNaN(r.ownWorkP50Ms) ? '-' : r.ownWorkP50Ms, r.ttftP99Ms, r.gapP99Ms, r.cpuUsPerFrame ?? '-', Number.isNaN(r.rssPlateauMb) ? '-' : r.rssPlateauMb, Number.isNaN(r.rssAfterMb) ? '-' : r.rssAfterMb, r.errors]));
}

/**
 * Slow and silent clients: latency at concurrency 1 of the gateway (features on, a fresh process) and
 * the bare proxy, alone and while each holds 2,000 connections that send nothing, 200 that send their
 * headers a line every second (slowloris) and 50 that start a 16 MB stream and stop reading; the
 * resident memory of each; and how many of the silent and slow-header connections each has cut 15 s on.
 */
async function slowClients(): Promise<void> {
  const idleCount = quick ? 200 : 2000;
  const slowCount = quick ? 20 : 200;
  const pausedCount = quick ? 5 : 50;
  const rounds = quick ? 100 : 1000;
  await restart(bareT);
  const g = await startGateway(fakeUrl);
  const key = await virtualKeyOn(g.url);
  const ts = [forShape(bareT, SHAPES.fast), { ...gwOn, url: () => `${g.url}/v1/chat/completions`, headers: { authorization: `Bearer ${key}` } }];
  const pidOf = (t: Target) => (t.name === bareT.name ? bare.proc.pid! : g.proc.pid!);
  const base = await interleaved(ts, SHAPES.fast, rounds);
  const rssBase = ts.map((t) => rssMb(pidOf(t)));

  const held: { target: string; socket: Socket; kind: 'idle' | 'slow' | 'paused' }[] = [];
  const hold = async (t: Target, kind: 'idle' | 'slow' | 'paused', count: number) => {
    const { hostname, port, pathname } = new URL(t.url(kind === 'paused' ? SHAPES.long : SHAPES.fast));
    // 250 at a time, with a pause: a burst of thousands overflows the listen backlog.
    for (let i = 0; i < count; i += 250) {
      for (let j = i; j < Math.min(count, i + 250); j++) {
        const socket = connect(Number(port), hostname);
        socket.on('error', () => {});
        if (kind === 'slow') socket.write(`POST ${pathname} HTTP/1.1\r\nHost: x\r\n`);
        if (kind === 'paused') {
          const payload = body(SHAPES.long.name, { stream: true });
          const auth = t.headers.authorization ?? '';
          socket.write(`POST ${pathname} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
          socket.pause();
        } else socket.resume();
        held.push({ target: t.name, socket, kind });
      }
      await sleep(100);
    }
  };
  for (const t of ts) {
    await hold(t, 'idle', idleCount);
    await hold(t, 'slow', slowCount);
    await hold(t, 'paused', pausedCount);
  }
  const startedHolding = performance.now();
  const drip = setInterval(() => {
    for (const h of held) if (h.kind === 'slow' && h.socket.writable) h.socket.write(`X-Drip: ${Date.now()}\r\n`);
  }, 1000);
  await sleep(1000);
  const loaded = await interleaved(ts, SHAPES.fast, rounds);
  const rssLoaded = ts.map((t) => rssMb(pidOf(t)));
  await sleep(Math.max(0, 15_000 - (performance.now() - startedHolding)));
  clearInterval(drip);
  const rows = ts.map((t, i) => {
    const mine = held.filter((h) => h.target === t.name);
    const cut = (kind: string) => mine.filter((h) => h.kind === kind && (h.socket.destroyed || h.socket.readableEnded)).length;
    return {
      target: t.name,
      aloneP50Ms: ms(pct(base.get(t.name)!, 50)),
      aloneP99Ms: ms(pct(base.get(t.name)!, 99)),
      heldP50Ms: ms(pct(loaded.get(t.name)!, 50)),
      heldP99Ms: ms(pct(loaded.get(t.name)!, 99)),
      rssAloneMb: round(rssBase[i]!, 1),
      rssHeldMb: round(rssLoaded[i]!, 1),
      idleCutBy15s: cut('idle'),
      slowCutBy15s: cut('slow'),
    };
  });
  for (const h of held) h.socket.destroy();
  g.proc.kill('SIGTERM');
  await new Promise((r) => g.proc.once('exit', r));
  results.slowClients = { idle: idleCount, slowloris: slowCount, pausedStreams: pausedCount, rounds, rows };
  table(`Slow clients (${idleCount} silent, ${slowCount} slowloris, ${pausedCount} paused 16 MB streams held; ${rounds} interleaved rounds at concurrency 1)`,
    ['target', 'p50 ms alone', 'p99 ms alone', 'p50 ms held', 'p99 ms held', 'RSS MB alone', 'RSS MB held', 'silent cut by 15 s', 'slowloris cut by 15 s'],
    rows.map((r) => [r.target, r.aloneP50Ms, r.aloneP99Ms, r.heldP50Ms, r.heldP99Ms, r.rssAloneMb, r.rssHeldMb, `${r.idleCutBy15s} of ${idleCount}`, `${r.slowCutBy15s} of ${slowCount}`]));
}

async function largeBody(): Promise<void> {
  const rows = [];
  for (const [label, bytes] of [['50 KB', 50 * 1024], ['1 MB', 1024 * 1024]] as const) {
    const prompt = 'lorem ipsum '.repeat(Math.ceil(bytes / 12)).slice(0, bytes);
    const rounds = quick ? 10 : bytes > 100_000 ? 200 : 1000;
    const ts = targets.map((t) => forShape(t, SHAPES.fast));
    const lat = await interleaved(ts, SHAPES.fast, rounds, prompt);
    const base = lat.get('direct')!;
    for (const t of ts.filter((x) => x.name !== 'direct')) {
      const diffs = lat.get(t.name)!.map((v, i) => v - base[i]!);
      const pid = pids.get(t.name);
      rows.push({ body: label, target: t.name, addedP50Ms: ms(pct(diffs, 50)), addedP99Ms: ms(pct(diffs, 99)), rssMb: pid ? round(rssMb(pid), 1) : null });
    }
  }
  results.largeBody = { rows };
  table('Large bodies (interleaved rounds at concurrency 1)', ['body', 'target', 'added p50 ms', 'added p99 ms', 'RSS MB'], rows.map((r) => [r.body, r.target, r.addedP50Ms, r.addedP99Ms, r.rssMb ?? '-']));
}

async function coldStart(): Promise<void> {
  const runs = quick ? 1 : 5;
  const times: number[] = [];
  const idle: number[] = [];
  for (let i = 0; i < runs; i++) {
    const g = await startGateway(fakeUrl);
    // first answered request, timed from the spawn
    for (;;) {
      try {
        const r = await request(`${g.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}` }, body: body(SHAPES.fast.name) });
        await r.body.dump();
        if (r.statusCode === 200) break;
      } catch {
        await sleep(2);
      }
    }
    times.push(performance.now() - g.startedAt);
    await sleep(quick ? 200 : 2000);
    idle.push(rssMb(g.proc.pid!));
    g.proc.kill('SIGTERM');
    await new Promise((r) => g.proc.once('exit', r));
  }
  results.coldStart = { runs, startToFirstAnswerMs: round(pct(times, 50), 1), idleRssMb: round(pct(idle, 50), 1) };
  table(`Cold start (${['node', ...START_FLAGS, 'bin/llm-proxy.mjs'].join(' ')} to the first answered request; median of ${runs})`, ['start to first answer ms', 'idle RSS MB'], [[round(pct(times, 50), 1), round(pct(idle, 50), 1)]]);
}

/**
 * The dashboard in Chromium (when installed): signed in, from navigation to the key list on screen,
 * and to the usage chart drawn; bytes on the wire; the key list over 10,000 keys.
 */
async function dashboard(): Promise<void> {
  const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromiumPath)) {
    console.log(`\nDashboard: skipped (no Chromium at ${chromiumPath})`);
    return;
  }
  const { chromium } = await import('playwright-core');
  // Enough keys that a page read by OFFSET would show; key creation goes through the API.
  const keys = quick ? 500 : 10_000;
  for (let i = 0; i < keys; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        request(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}` }, body: JSON.stringify({ key_alias: `bench-${i + j}`, max_budget: 10 }) }).then((r) => r.body.dump()),
      ),
    );
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const login = await request(`${gw.url}/ui/api/login`, { method: 'POST', body: JSON.stringify({ username: 'admin', password: MASTER }) });
  await login.body.dump();
  const [name, value] = String(login.headers['set-cookie']).split(';')[0]!.split('=') as [string, string];
  await context.addCookies([{ name, value, url: gw.url }]);
  const page = await context.newPage();
  const rounds = quick ? 3 : 20;
  const keysMs: number[] = [];
  const usageMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await page.goto(`${gw.url}/ui#/keys`);
    await page.getByTestId('key-row').first().waitFor();
    keysMs.push(performance.now() - t);
    if (i === 0) {
      bytes = (await page.evaluate(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).reduce((n, e) => n + e.encodedBodySize, 0)",
      )) as number;
    }
    t = performance.now();
    await page.goto(`${gw.url}/ui#/usage`);
    await page.getByTestId('usage-chart').locator('canvas').first().waitFor();
    usageMs.push(performance.now() - t);
  }
  // The last page of the key list, by its cursor, against the first: keyset pages cost the same.
  const deep: number[] = [];
  let after: string | null = null;
  for (let p = 0; p < Math.floor(keys / 100) - 1; p++) {
    const url: string = `${gw.url}/ui/api/keys?limit=100${after ? `&after=${after}` : ''}`;
    const res = await request(url, { headers: { authorization: `Bearer ${MASTER}` } });
    after = ((await res.body.json()) as { next: string }).next;
  }
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const r = await request(`${gw.url}/ui/api/keys?limit=100&after=${after}`, { headers: { authorization: `Bearer ${MASTER}` } });
    await r.body.dump();
    deep.push(performance.now() - t);
  }
  const first: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const r = await request(`${gw.url}/ui/api/keys?limit=100`, { headers: { authorization: `Bearer ${MASTER}` } });
    await r.body.dump();
    first.push(performance.now() - t);
  }
  await browser.close();
  const row = {
    keys,
    keysPageMs: round(pct(keysMs, 50), 1),
    usagePageMs: round(pct(usageMs, 50), 1),
    firstLoadKb: round(bytes / 1024, 1),
    apiFirstPageMs: round(pct(first, 50), 2),
    apiDeepPageMs: round(pct(deep, 50), 2),
  };
  results.dashboard = row;
  table(`Dashboard in Chromium (median of ${rounds} loads; ${keys} keys)`, ['key list shown ms', 'usage chart drawn ms', 'first load KB (gzip)', 'API first page ms', 'API last page ms'], [
    [row.keysPageMs, row.usagePageMs, row.firstLoadKb, row.apiFirstPageMs, row.apiDeepPageMs],
  ]);
}

/**
 * Several instances on one Redis: what Redis adds to a call with every feature on (its admission and
 * its settlement are a round trip each), at concurrency 1 against the same call on one instance
 * without Redis; then three instances, each loaded as a load balancer would spread the load, against
 * one. With BENCH_POSTGRES_URL the three share a database and one key (one budget, one rpm window
 * for all); without, each has its own SQLite and key (the same round trips, no contention).
 */
async function redisScenario(): Promise<void> {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) throw new Error('the redis scenario needs REDIS_URL (a Redis server it may write llmproxy:* keys to)');
  const pg = process.env.BENCH_POSTGRES_URL;
  const env = { REDIS_URL: redisUrl, ...(pg ? { DATABASE_URL: pg } : {}) };
  const instances = [await startGateway(fakeUrl, undefined, env)];
  for (let i = 0; i < 2; i++) instances.push(await startGateway(fakeUrl, undefined, env));
  const shared = pg ? await virtualKeyOn(instances[0]!.url) : null;
  const keys = await Promise.all(instances.map(async (g) => shared ?? (await virtualKeyOn(g.url))));
  const onRedis = instances.map((g, i): Target => ({ name: `llm-proxy on Redis #${i + 1}`, url: () => `${g.url}/v1/chat/completions`, headers: { authorization: `Bearer ${keys[i]}` }, model: (sh) => sh.name }));

  const rounds = quick ? 50 : 2000;
  const ts = [direct, gwOn, onRedis[0]!];
  const lat = await interleaved(ts, SHAPES.fast, rounds);
  const base = lat.get('direct')!;
  const added = (name: string) => lat.get(name)!.map((v, i) => v - base[i]!);
  const localP50 = ms(pct(added(gwOn.name), 50));
  const redisP50 = ms(pct(added(onRedis[0]!.name), 50));

  const seconds = quick ? 2 : 15;
  const load = async (t: Target) => {
    const options = { url: t.url(SHAPES.fast), method: 'POST' as const, connections: 32, headers: { 'content-type': 'application/json', ...t.headers }, body: body(SHAPES.fast.name) };
    await autocannon({ ...options, duration: quick ? 1 : 3 });
    return options;
  };
  const oneOpts = await load(onRedis[0]!);
  const one = await autocannon({ ...oneOpts, duration: seconds });
  const allOpts = await Promise.all(onRedis.map(load));
  const three = await Promise.all(allOpts.map((o) => autocannon({ ...o, duration: seconds })));
  const threeRps = three.reduce((n, r) => n + r.requests.total / r.duration, 0);
  const errors = three.reduce((n, r) => n + r.errors + r.non2xx, 0) + one.errors + one.non2xx;
  const rows = {
    rounds,
    sharedDatabase: Boolean(pg),
    addedP50MsWithoutRedis: localP50,
    addedP50MsOnRedis: redisP50,
    redisAddsP50Ms: round(redisP50 - localP50, 3),
    oneInstanceRps: Math.round(one.requests.total / one.duration),
    threeInstancesRps: Math.round(threeRps),
    errors,
  };
  const held = pg ? await budgetsHeld(instances) : null;
  results.redis = { ...rows, ...(held ? { held } : {}) };
  table(`Redis (features on; ${rounds} interleaved rounds at concurrency 1; then ${seconds} s at 32 connections per instance${pg ? ', one database and key' : ''})`, ['added p50 ms, no Redis', 'added p50 ms, Redis', 'Redis adds ms', '1 instance req/s', '3 instances req/s', 'errors'], [
    [rows.addedP50MsWithoutRedis, rows.addedP50MsOnRedis, rows.redisAddsP50Ms, rows.oneInstanceRps, rows.threeInstancesRps, rows.errors],
  ]);
  if (held) {
    table('Budgets and limits under a burst over the three instances (one database, one Redis)', ['team budget USD', 'burst: answered', 'refused', 'then one at a time', 'spent USD', 'key rpm_limit', 'admitted in the minute', 'errors'], [
      [held.teamBudgetUsd, held.budgetAnswered, held.budgetRefused, held.thenOneAtATime, held.teamSpentUsd, held.rpmLimit, held.rpmAdmitted, held.errors],
    ]);
  }
  for (const g of instances) g.proc.kill('SIGTERM');
}

/**
 * How budgets and limits held while the instances were loaded together: a team budget that fits some
 * hundred answers and a key's rpm limit, each under 600 calls at once spread over the three instances.
 */
async function budgetsHeld(instances: { url: string }[]) {
  const admin = async (url: string, method: string, path: string, payload?: unknown) => {
    const r = await request(`${url}${path}`, { method: method as 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: payload === undefined ? undefined : JSON.stringify(payload) });
    return (await r.body.json()) as any;
  };
  const burst = async (keys: string[]) => {
    const counts = { ok: 0, refused: 0, errors: 0 };
    let next = 0;
    // 32 connections an instance, as a load balancer spreads them.
    await Promise.all(Array.from({ length: 32 * instances.length }, async (_, w) => {
      while (next < 600) {
        const i = next++;
        const g = instances[(w + i) % instances.length]!;
        const r = await request(`${g.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${keys[(w + i) % keys.length]}` }, body: body(SHAPES.fast.name) });
        await r.body.dump();
        if (r.statusCode === 200) counts.ok++;
        else if (r.statusCode === 429) counts.refused++;
        else counts.errors++;
      }
    }));
    return counts;
  };
  const team = `bench-team-${Date.now()}`;
  const teamBudgetUsd = 0.01;
  await admin(instances[0]!.url, 'POST', '/team/new', { team_id: team, max_budget: teamBudgetUsd });
  const teamKeys = await Promise.all(instances.map(async (g) => (await admin(g.url, 'POST', '/key/generate', { team_id: team })).key as string));
  const b = await burst(teamKeys);
  // Then one call at a time until the budget refuses: what the reservations of the burst's calls in
  // flight kept back is usable, and no more.
  let tail = 0;
  for (let i = 0; i < 500; i++) {
    const res = await request(`${instances[i % instances.length]!.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${teamKeys[i % teamKeys.length]}` }, body: body(SHAPES.fast.name) });
    await res.body.dump();
    if (res.statusCode !== 200) break;
    tail++;
  }
  const rpmLimit = 300;
  const rpmKey = (await admin(instances[0]!.url, 'POST', '/key/generate', { rpm_limit: rpmLimit })).key as string;
  const r = await burst([rpmKey]);
  // Every instance's spend written: the ledgers may still be writing the load's records (the budget
  // itself was held by Redis meanwhile); the spend is read once it no longer moves.
  let info = await admin(instances[1]!.url, 'GET', `/team/info?team_id=${team}`);
  for (let i = 0; i < 60; i++) {
    await new Promise((res) => setTimeout(res, 1000));
    const again = await admin(instances[1]!.url, 'GET', `/team/info?team_id=${team}`);
    if (again.team_info.spend === info.team_info.spend && i > 0) break;
    info = again;
  }
  return {
    teamBudgetUsd,
    teamSpentUsd: round(info.team_info.spend, 6),
    budgetAnswered: b.ok,
    budgetRefused: b.refused,
    thenOneAtATime: tail,
    rpmLimit,
    rpmAdmitted: r.ok,
    errors: b.errors + r.errors,
  };
}

/**
 * What routing within a group costs: CPU per request of the gateway (features on, the default
 * strategy) for a group of one deployment and for one of eight, at 32 connections; two passes each,
 * alternating. The difference is the router's share.
 */
async function routingScenario(): Promise<void> {
  const seconds = quick ? 2 : 10;
  const acc = await alternatingCpu([SHAPES.fast.name, GROUP8_MODEL].map((m) => ({ label: m, path: '/v1/chat/completions', body: body(m) })), seconds);
  const cpu = (m: string) => acc.get(m)!.cpuMs / acc.get(m)!.requests;
  const rows = ([[SHAPES.fast.name, '1 deployment'], [GROUP8_MODEL, '8 deployments']] as const).map(([m, label]) => {
    const a = acc.get(m)!;
    return { group: label, rps: Math.round(a.requests / a.seconds), cpuMsPerRequest: round(cpu(m), 4), addedUs: round((cpu(m) - cpu(SHAPES.fast.name)) * 1000, 1), errors: a.errors };
  });
  results.routing = { seconds, passes: 2, connections: 32, rows };
  table(`Routing within a group (gateway, features on, 32 connections, 2 passes of ${seconds} s)`, ['group', 'req/s', 'CPU ms/req', 'added µs/req', 'errors'], rows.map((r) => [r.group, r.rps, r.cpuMsPerRequest, r.addedUs, r.errors]));
}

/**
 * What the response cache saves: requests a second (and the gateway's CPU a request) of a gateway
 * with `cache: true` (in process), features on, at 32 connections, for the same request answered from
 * the cache and passed through to the provider (`no-cache`, `no-store`), against a 0 ms and a 50 ms
 * upstream.
 */
async function cacheScenario(): Promise<void> {
  const seconds = quick ? 2 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'llm-proxy-bench-'));
  tempDirs.push(dir);
  writeFileSync(join(dir, 'config.yaml'), `${gatewayConfig(fakeUrl)}litellm_settings:\n  cache: true\n  cache_params: { type: local, ttl: 3600 }\n`);
  const g = await startGateway(fakeUrl, dir);
  const key = await virtualKeyOn(g.url);
  const pid = g.proc.pid!;
  const rows = [];
  for (const shape of [SHAPES.fast, SHAPES.slow50]) {
    const out: Record<string, { rps: number; cpu: number; errors: number }> = {};
    for (const kind of ['miss', 'hit'] as const) {
      const payload = JSON.parse(body(shape.name)) as Record<string, unknown>;
      if (kind === 'miss') payload.cache = { 'no-cache': true, 'no-store': true };
      const options = { url: `${g.url}/v1/chat/completions`, method: 'POST' as const, connections: 32, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(payload) };
      await autocannon({ ...options, duration: 1 }); // warm-up (and the answer kept, for the hits)
      const cpu0 = cpuMs(pid);
      const r = await autocannon({ ...options, duration: seconds });
      out[kind] = { rps: Math.round(r.requests.total / r.duration), cpu: (cpuMs(pid) - cpu0) / r.requests.total, errors: r.errors + r.non2xx };
      await sleep(500);
    }
    rows.push({ upstream: shape.name, missRps: out.miss!.rps, hitRps: out.hit!.rps, xMiss: round(out.hit!.rps / out.miss!.rps), missCpuMs: round(out.miss!.cpu, 4), hitCpuMs: round(out.hit!.cpu, 4), errors: out.miss!.errors + out.hit!.errors });
  }
  g.proc.kill('SIGTERM');
  results.cache = { seconds, connections: 32, rows };
  table(`Response cache (gateway, features on, 32 connections, ${seconds} s each)`, ['upstream', 'miss req/s', 'hit req/s', 'hit x miss', 'miss CPU ms/req', 'hit CPU ms/req', 'errors'], rows.map((r) => [r.upstream, r.missRps, r.hitRps, r.xMiss, r.missCpuMs, r.hitCpuMs, r.errors]));
}

const run: Record<Scenario, () => Promise<void>> = {
  latency,
  throughput,
  translation,
  responses: responsesScenario,
  routing: routingScenario,
  cache: cacheScenario,
  'fixed-rate': fixedRateScenario,
  streaming,
  'slow-clients': slowClients,
  'large-body': largeBody,
  'cold-start': coldStart,
  dashboard,
  redis: redisScenario,
};
for (const s of chosen) await run[s]();

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGb: Math.round(totalmem() / 1024 ** 3),
  node: process.version,
  date: new Date().toISOString(),
  quick,
};
mkdirSync(values.out!, { recursive: true });
const file = join(values.out!, `bench-${machine.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ machine, scenarios: results, tables }, null, 2)}\n`);
console.log(`\nmachine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}\nresults: ${file}`);
for (const c of children) c.kill('SIGTERM');
process.exit(0);
