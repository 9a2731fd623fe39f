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
