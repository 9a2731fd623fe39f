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

/** A TCP port nobody listens on now, as the system hands it out (a random pick can hit a taken one). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A Redis server of a test's own (Debian's redis-server, as .ci/run installs), to stop and start
 * again on the same port: nothing persisted, as a restart that lost its data. It returns once the
 * server answers PING (a TCP accept alone comes before it serves), and fails if it exits first.
 */
export async function ownRedis(port?: number, extraArgs: string[] = []): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { createConnection } = await import('node:net');
  const p = port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], { stdio: 'ignore' });
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      gone = true;
      resolve();
    }),
  );
  const pong = () =>
    new Promise<boolean>((resolve) => {
      const s = createConnection(p, '127.0.0.1', () => s.write('PING\r\n'));
      s.setTimeout(500, () => s.destroy());
      s.once('data', (d) => {
        s.end();
        resolve(d.toString().startsWith('+PONG'));
      });
      s.once('error', () => resolve(false));
      s.once('close', () => resolve(false));
    });
  for (let i = 0; ; i++) {
    if (gone) throw new Error(`redis-server on port ${p} exited before it served`);
    if (await pong()) break;
    if (i >= 200) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${p} did not answer PING in 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    async stop() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
  };
}
