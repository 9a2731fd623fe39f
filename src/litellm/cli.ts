// The `import litellm` command: flags, the two databases, the report.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDatabaseUrl } from '../store/db.ts';
import { openPostgres } from '../store/postgres.ts';
import { openSqlite } from '../store/sqlite-db.ts';
import { formatSummary, importLiteLLM } from './import.ts';
import { LiteLLMSource } from './source.ts';

export const IMPORT_USAGE = 'usage: llm-proxy import litellm --from postgresql://USER:PASSWORD@HOST/DB [--dry-run] [--models-out FILE.yaml]';

export const IMPORT_HELP = `llm-proxy import litellm: a LiteLLM proxy's database into this gateway's.

${IMPORT_USAGE}

  --from URL         LiteLLM's PostgreSQL database (its DATABASE_URL); only read
  --dry-run          print what would be imported and what cannot be; write nothing
  --models-out FILE  where models stored in LiteLLM's database go, as model_list entries
                     (default ./litellm-models.yaml; their credentials in FILE's .env beside it)

Into this gateway's database: DATABASE_URL (or .env), else sqlite:./data/llm-proxy.db.
Keys, users, teams, organizations and their members, customers, budgets, tags, their current spend
and the spend logs come across; run it again later and only what changed comes over.
Stored models are decrypted with LITELLM_SALT_KEY, else LITELLM_MASTER_KEY (LiteLLM's master key).
`;

const DEFAULT_DB = 'sqlite:./data/llm-proxy.db';

/** Runs the command; the exit code. */
export async function runImport(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { from: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'models-out': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    err(`llm-proxy: ${(e as Error).message}\n${IMPORT_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out(IMPORT_HELP);
    return 0;
  }
  if (positionals[0] !== 'litellm' || positionals.length > 1) {
    err(`llm-proxy: import takes one source, litellm${positionals.length ? ` (not ${positionals.join(' ')})` : ''}\n${IMPORT_USAGE}\n`);
    return 2;
  }
  if (!values.from || !/^postgres(ql)?:\/\//.test(values.from)) {
    err(`llm-proxy: --from must be LiteLLM's PostgreSQL database, postgresql://...\n${IMPORT_USAGE}\n`);
    return 2;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  let target;
  try {
    target = parseDatabaseUrl(process.env.DATABASE_URL || DEFAULT_DB);
  } catch (e) {
    err(`llm-proxy: ${(e as Error).message}\n`);
    return 2;
  }
  const hidden = (u: string) => u.replace(/\/\/[^@]*@/, '//***@');
  let source: LiteLLMSource;
  try {
    source = await LiteLLMSource.open(values.from);
  } catch (e) {
    err(`llm-proxy: cannot read LiteLLM's database ${hidden(values.from)}: ${(e as Error).message}\n`);
    return 1;
  }
  const db = target.kind === 'postgres' ? openPostgres(target.url) : openSqlite(target.path);
  try {
    await db.migrate();
    const dryRun = values['dry-run'] === true;
    out(`${dryRun ? 'Dry run of an import' : 'Importing'} from ${hidden(values.from)} into ${target.kind === 'postgres' ? hidden(target.url) : target.path}\n`);
    const summary = await importLiteLLM({
      source,
      sourceName: hidden(values.from),
      db,
      dryRun,
      saltKey: process.env.LITELLM_SALT_KEY || process.env.LITELLM_MASTER_KEY || null,
      modelsOut: values['models-out'] ?? 'litellm-models.yaml',
      log: (line) => out(`  ${line}\n`),
    });
    out(`\n${formatSummary(summary, dryRun)}\n`);
    if (!dryRun) {
      out(
        target.kind === 'postgres'
          ? '\nGateways running on this database were told to read the imported records again.\n'
          : '\nA gateway already running on this SQLite file reads the imported records once restarted.\n',
      );
    }
    return 0;
  } catch (e) {
    err(`llm-proxy: the import stopped: ${(e as Error).message}\nWhat was written before it stopped is kept; run the same command again to go on.\n`);
    return 1;
  } finally {
    await source.close();
    await db.close();
  }
}
