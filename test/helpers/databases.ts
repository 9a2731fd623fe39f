// The databases the store suites run against: SQLite always; PostgreSQL when TEST_POSTGRES_URL names
// a server where the test user may create databases (.ci/run starts one). Each call gets a fresh one.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES = process.env.TEST_POSTGRES_URL ?? null;

/** A new database; `icuLocale` gives it a language collation (ICU) instead of the cluster's default. */
export async function freshPostgresUrl(opts: { icuLocale?: string } = {}): Promise<string> {
  if (!POSTGRES) throw new Error('TEST_POSTGRES_URL is not set');
  const name = `llmproxy_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  try {
    const locale = opts.icuLocale ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${opts.icuLocale.replace(/[^A-Za-z-]/g, '')}' LOCALE 'C.UTF-8'` : '';
    await admin.query(`CREATE DATABASE ${name}${locale}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES);
  url.pathname = `/${name}`;
  return url.toString();
}

/** DATABASE_URLs to run a suite against, with names for the test titles. */
export async function databaseUrls(): Promise<{ name: string; url: string | null }[]> {
  const out: { name: string; url: string | null }[] = [{ name: 'sqlite', url: null }];
  if (POSTGRES) out.push({ name: 'postgres', url: await freshPostgresUrl() });
  return out;
}

/** A Redis server for the tests of several instances (.ci/run starts one); each test takes its own key prefix. */
export const REDIS = process.env.TEST_REDIS_URL ?? null;
/** Skips a Redis test where there is none, except in CI, where it must run. */
export const redisSkip: string | false = REDIS || process.env.CI ? false : 'TEST_REDIS_URL is not set (.ci/run sets it)';

/**
 * A Redis server of a test's own (Debian's redis-server, as .ci/run installs), to stop and start
 * again: nothing persisted, as a restart that lost its data.
 */
export async function ownRedis(port: number, extraArgs: string[] = []): Promise<{ url: string; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { createConnection } = await import('node:net');
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
