// Process entry: flags, .env, config, master key, database; build the app, listen, shut down cleanly.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from './app.ts';
import { generateKey } from './auth/keys.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { parseDatabaseUrl } from './store/db.ts';
import { openSqlite } from './store/sqlite-db.ts';
import { openPostgres } from './store/postgres.ts';
import { createLoggers } from './telemetry/log.ts';
import { VERSION } from './version.ts';
import { lockJournal } from './metering/journal-lock.ts';

const HELP = `llm-proxy ${VERSION}: an LLM gateway, drop-in for the LiteLLM proxy.

Usage: npm start -- [options]     (or: node bin/llm-proxy.mjs [options])
       npm start -- COMMAND ...          (import litellm, check-config: below)

Options:
  --config PATH     config.yaml in LiteLLM's format (default: $CONFIG_FILE_PATH, else ./config.yaml if present)
  --port N          port to listen on (default: $PORT, else 4000)
  --host H          address to listen on (default: 0.0.0.0)
  --detailed_debug  debug logging
  --version         print the version and exit
  --help            this text

LiteLLM's process flags (--num_workers, --run_gunicorn, --telemetry, ...) are accepted and ignored
with a warning; any other flag or argument is an error.

Environment (.env in the working directory is loaded at start; see .env.sample):
  LITELLM_MASTER_KEY  admin credential; without it one is generated into ./data/master_key
  DATABASE_URL        postgresql://..., sqlite:PATH or sqlite::memory: (default sqlite:./data/llm-proxy.db)
  UI_USERNAME, UI_PASSWORD  dashboard sign-in at /ui (default admin, and the master key)
  REDIS_URL           redis://HOST:PORT shared by several instances for their budgets and limits
                      (also REDIS_HOST, REDIS_PORT, REDIS_PASSWORD; or router_settings.redis_*)
  WEBHOOK_URL, SLACK_WEBHOOK_URL  where budget alerts go (general_settings.alerting: webhook, slack)
  PORT, CONFIG_FILE_PATH, OPENAI_API_KEY, OPENAI_API_BASE, ANTHROPIC_API_KEY, LOG_LEVEL, LITELLM_MODEL_COST_MAP_URL

Commands:
  import litellm --from postgresql://...  a LiteLLM proxy's database into this one (import --help)
  check-config [config.yaml]              what this gateway does with each setting of a LiteLLM config
`;

/** Flags of LiteLLM's proxy command a deployment may still pass: they say nothing this gateway needs. */
const LITELLM_FLAGS = new Set([
  'num_workers', 'run_gunicorn', 'run_hypercorn', 'debug', 'telemetry', 'use_queue', 'keepalive_timeout',
  'max_requests_before_restart', 'use_prisma_migrate', 'use_prisma_db_push', 'skip_server_startup', 'log_config', 'reload',
]);

const USAGE = 'usage: llm-proxy [--config PATH] [--port N] [--host H] [--detailed_debug] [--version] [--help]\n       llm-proxy import litellm --from postgresql://... [--dry-run]\n       llm-proxy check-config [config.yaml]';

const DATA_DIR = 'data';
const DEFAULT_DB = `sqlite:./${DATA_DIR}/llm-proxy.db`;

function fail(message: string): never {
  process.stderr.write(`llm-proxy: ${message}\n`);
  process.exit(1);
}

/** The master key from the environment or config; else the one kept under ./data (made on first start). */
function resolveMasterKey(fromConfig: string | null, databaseConfigured: boolean): { key: string; generated: boolean } {
  const key = process.env.LITELLM_MASTER_KEY || fromConfig;
  if (key) return { key, generated: false };
  if (databaseConfigured) fail('a database is configured but no master key is set: set LITELLM_MASTER_KEY (or general_settings.master_key).');
  const file = resolve(DATA_DIR, 'master_key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), generated: false };
  const generated = generateKey();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${generated}\n`, { mode: 0o600 });
  return { key: generated, generated: true };
}

async function main(): Promise<void> {
  // The commands' modules are loaded only for them: a start of the gateway does not pay for them.
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'import') {
    const { runImport } = await import('./litellm/cli.ts');
    process.exitCode = await runImport(rest, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
    return;
  }
  if (command === 'check-config') {
    const { CHECK_USAGE, checkConfig } = await import('./config/check.ts');
    if (existsSync('.env')) process.loadEnvFile('.env');
    const file = rest[0] ?? process.env.CONFIG_FILE_PATH ?? 'config.yaml';
    if (rest.length > 1 || file.startsWith('-')) {
      process.stderr.write(`llm-proxy: check-config takes one file\n${CHECK_USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    const { report, code } = checkConfig(file, process.env);
    (code === 2 ? process.stderr : process.stdout).write(`${report}\n`);
    process.exitCode = code;
    return;
  }
  const { values, tokens } = parseArgs({
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      detailed_debug: { type: 'boolean' },
    },
  });
  const known = new Set(['config', 'c', 'port', 'host', 'help', 'h', 'version', 'v', 'detailed_debug']);
  // A LiteLLM flag's value (`--num_workers 4`) arrives as the positional right after it.
  const flagValues = new Set<number>();
  const ignored: string[] = [];
  for (const [i, t] of tokens.entries()) {
    if (t.kind !== 'option' || known.has(t.name)) continue;
    // Anything else would start a server that does not do what was asked (`import litellm`, a typo).
    if (!LITELLM_FLAGS.has(t.name)) fail(`unknown option ${t.rawName}\n${USAGE}`);
    ignored.push(t.name);
    const next = tokens[i + 1];
    if (t.value === undefined && next?.kind === 'positional') flagValues.add(next.index);
  }
  const stray = tokens.flatMap((t) => (t.kind === 'positional' && !flagValues.has(t.index) ? [t.value] : []));
  if (stray.length > 0) fail(`unknown argument${stray.length > 1 ? 's' : ''}: ${stray.join(' ')}\n${USAGE}`);
  for (const k of [values.config, values.port, values.host]) if (k === true) fail(`an option needs a value\n${USAGE}`);

  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const { log, access } = createLoggers(values.detailed_debug ? 'debug' : (process.env.LOG_LEVEL ?? 'info'));
  for (const name of ignored) log.warn(`--${name} is a LiteLLM flag this gateway does not use; it is ignored`);

  const configPath =
    (typeof values.config === 'string' ? values.config : null) ??
    process.env.CONFIG_FILE_PATH ??
    (existsSync('config.yaml') ? 'config.yaml' : null);
  let loaded;
  try {
    loaded = loadConfig(configPath);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  for (const w of loaded.warnings) log.warn(w);
  const { config } = loaded;
  if (config.deployments.length === 0) log.warn('no models are configured (model_list is empty): every LLM call will be refused');

  const databaseUrl = process.env.DATABASE_URL || config.databaseUrl;
  let dbTarget;
  try {
    dbTarget = parseDatabaseUrl(databaseUrl ?? DEFAULT_DB);
  } catch (err) {
    fail((err as Error).message);
  }
  const master = resolveMasterKey(config.masterKey, Boolean(databaseUrl));
  if (master.generated) {
    process.stdout.write(
      `\nGenerated a master key (shown once, kept in ${DATA_DIR}/master_key):\n\n    ${master.key}\n\nSet LITELLM_MASTER_KEY to choose your own.\n\n`,
    );
  }

  const db = dbTarget.kind === 'postgres' ? openPostgres(dbTarget.url) : openSqlite(dbTarget.path);
  // The journal sits beside a SQLite file, under ./data with PostgreSQL; an in-memory database ends
  // with the process, and so does its journal.
  const inMemory = dbTarget.kind === 'sqlite' && dbTarget.path === ':memory:';
  const journalDir = inMemory
    ? mkdtempSync(join(tmpdir(), 'llm-proxy-journal-'))
    : dbTarget.kind === 'sqlite'
      ? join(dirname(resolve(dbTarget.path)), 'journal')
      : resolve(DATA_DIR, 'journal');
  if (inMemory) process.once('exit', () => rmSync(journalDir, { recursive: true, force: true }));
  const database = dbTarget.kind === 'postgres' ? dbTarget.url.replace(/\/\/[^@]*@/, '//***@') : dbTarget.path;
  let unlockJournal: () => void;
  try {
    unlockJournal = await lockJournal(journalDir);
  } catch (err) {
    await db.close().catch(() => {});
    fail((err as Error).message);
  }
  let app;
  try {
    app = await buildApp({
      config,
      masterKey: master.key,
      db,
      journalDir,
      unlockJournal,
      log,
      accessLog: access,
      ui: { username: process.env.UI_USERNAME, password: process.env.UI_PASSWORD },
    });
  } catch (err) {
    await db.close().catch(() => {});
    unlockJournal();
    fail(`cannot open the database ${database}: ${(err as Error).message}`);
  }

  // Before listening: a supervisor may stop the gateway as soon as it sees the listening line.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info(`${signal}: no new connections; finishing calls in flight (a second signal exits at once)`);
    app.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const portArg = typeof values.port === 'string' ? values.port : (process.env.PORT ?? '4000');
  const port = Number(portArg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port: "${portArg}" is not a port number`);
  const host = typeof values.host === 'string' ? values.host : '0.0.0.0';
  try {
    await app.server.listen({ port, host });
  } catch (err) {
    fail(`cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }
  const address = app.server.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  log.info({ config: configPath, database, models: config.deployments.length }, `llm-proxy ${VERSION} listening on http://${host}:${actualPort}`);
  // at once, not with the next second's buffered lines: supervisors and scripts wait for this line
  log.flush();

}

await main();
