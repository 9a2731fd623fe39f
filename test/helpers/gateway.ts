// Starting the gateway for tests: in-process (buildApp on a loopback port) or as the real process.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { buildApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { tempDir } from './temp.ts';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const MASTER_KEY = 'sk-test-master-1234';

export interface TestGateway {
  url: string;
  app: App;
  close(): Promise<void>;
}

/** Writes a config file in a fresh temp dir and returns its path. */
export function writeConfig(yaml: string): string {
  const dir = tempDir('test');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** A config with the given model groups, all on the fake upstream. */
export function fakeModels(upstreamUrl: string, names: string[] = ['gpt-3.5-turbo', 'gpt-4'], apiKey = 'sk-upstream'): string {
  const entries = names
    .map((n) => `  - model_name: ${n}\n    litellm_params:\n      model: openai/${n}\n      api_base: ${upstreamUrl}\n      api_key: ${apiKey}\n`)
    .join('');
  return `model_list:\n${entries}`;
}

export async function startInProcess(yaml: string, opts: Partial<AppOptions> = {}): Promise<TestGateway> {
  const { config } = loadConfig(writeConfig(yaml), { ...process.env });
  const journalDir = tempDir('journal');
  const app = await buildApp({
    config,
    masterKey: MASTER_KEY,
    // Not opened when the test brings its own: a database opened and dropped keeps a worker alive.
    db: opts.db ?? openSqlite(':memory:'),
    journalDir,
    log: pino({ level: 'silent' }),
    flushIntervalMs: 50,
    budgetResetEveryMs: 100,
    ...opts,
  });
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, app, close: () => app.close() };
}

/** Every route an app serves, with each method but HEAD, read from Fastify's route tree (so a route added later is walked too). */
export function servedRoutes(app: { server: { printRoutes(opts: { commonPrefix: boolean }): string } }): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of app.server.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?$/.exec(line.replace(/\s+$/, ''));
    if (!m) continue;
    stack.length = m[1]!.length / 4;
    stack.push(m[2]!);
    if (m[3]) for (const method of m[3].split(', ')) if (method !== 'HEAD') out.push({ method, path: stack.join('') });
  }
  return out;
}

export interface GatewayProcess {
  url: string;
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns bin/llm-proxy.mjs with the Node running the tests; resolves once it listens. */
export async function spawnGateway(opts: { cwd: string; args?: string[]; env?: NodeJS.ProcessEnv; node?: string }): Promise<GatewayProcess> {
  // The entry of the checkout in opts.cwd when it has one (a production install), else this repo's.
  const entry = opts.node ? join(opts.cwd, 'bin/llm-proxy.mjs') : join(REPO, 'bin/llm-proxy.mjs');
  const proc = spawn(opts.node ?? process.execPath, [entry, ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 20_000);
    const check = () => {
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

/** A management call with the master key; the answer's JSON. */
export async function asMaster(baseUrl: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${MASTER_KEY}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  return res.json();
}

/** A JSON call with a key (the master key unless given): its status and answer. */
export async function call(baseUrl: string, method: string, path: string, body?: unknown, key = MASTER_KEY): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** A JSON call that must succeed: its answer, or a failed assertion naming the call and what came back. */
export async function okCall(baseUrl: string, method: string, path: string, body?: unknown, key = MASTER_KEY): Promise<any> {
  const r = await call(baseUrl, method, path, body, key);
  assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The spend log of a call (by its x-litellm-call-id), once the ledger has written it. */
export async function spendLogOf(baseUrl: string, callId: string | null): Promise<any> {
  for (let i = 0; i < 60; i++) {
    const logs = (await (await fetch(`${baseUrl}/spend/logs?page_size=100`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
    const found = logs.data.find((l: any) => l.request_id === callId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no spend record of ${callId}`);
}
