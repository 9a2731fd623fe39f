// A LiteLLM proxy's PostgreSQL database, made as LiteLLM makes it: its PyPI packages pinned here are
// downloaded once (into test-results/, beside the other test downloads), litellm-proxy-extras' Prisma
// migrations are applied in order with psql (some build indexes CONCURRENTLY, outside a transaction),
// and litellm's own schema.prisma is returned for the tests to check what the import reads against it.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freshPostgresUrl } from './databases.ts';
import { REPO } from './gateway.ts';

const run = promisify(execFile);
const DIR = join(REPO, 'test-results/litellm-wheels');
/** litellm 1.110.2 is the release the bench runs; 0.4.110 the newest litellm-proxy-extras this index serves. */
const PACKAGES = ['litellm==1.110.2', 'litellm-proxy-extras==0.4.110'];

/** The unpacked files, or null where PyPI cannot be reached (outside CI: the test is skipped). */
async function unpacked(): Promise<{ schema: string; migrations: string } | null> {
  const schema = join(DIR, 'litellm/proxy/schema.prisma');
  const migrations = join(DIR, 'litellm_proxy_extras/migrations');
  if (existsSync(schema) && existsSync(migrations)) return { schema, migrations };
  try {
    await run('python3', ['-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps', '-d', DIR, ...PACKAGES], { timeout: 300_000 });
    // Only the files needed: the schema from litellm's wheel, the migrations from the other.
    const script = `import sys, zipfile, glob
d = sys.argv[1]
for w in glob.glob(d + '/*.whl'):
    z = zipfile.ZipFile(w)
    for n in z.namelist():
        if n == 'litellm/proxy/schema.prisma' or n.startswith('litellm_proxy_extras/migrations/'):
            z.extract(n, d)`;
    await run('python3', ['-c', script, DIR], { timeout: 120_000 });
    return { schema, migrations };
  } catch (err) {
    return process.env.CI ? Promise.reject(err) : null;
  }
}

export interface LiteLLMDatabase {
  url: string;
  /** schema.prisma of litellm 1.110.2: model name → its column names. */
  schema: Map<string, Set<string>>;
}

/** Field lines of each `model X { ... }` block (relations, whose type is another model, are not columns). */
export function prismaColumns(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const models = new Set([...text.matchAll(/^model (\w+) \{/gm)].map((m) => m[1]!));
  for (const block of text.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    const cols = new Set<string>();
    for (const line of block[2]!.split('\n')) {
      const m = /^\s*(\w+)\s+(\w+)(\[\])?(\?)?/.exec(line);
      if (m && !models.has(m[2]!) && !line.trim().startsWith('//') && !line.trim().startsWith('@@')) cols.add(m[1]!);
    }
    out.set(block[1]!, cols);
  }
  return out;
}

export async function makeLiteLLMDatabase(): Promise<LiteLLMDatabase | null> {
  const files = await unpacked();
  if (!files) return null;
  const url = await freshPostgresUrl();
  for (const dir of readdirSync(files.migrations).sort()) {
    const file = join(files.migrations, dir, 'migration.sql');
    if (!existsSync(file)) continue;
    await run('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', file], { timeout: 60_000 });
  }
  return { url, schema: prismaColumns(readFileSync(files.schema, 'utf8')) };
}
