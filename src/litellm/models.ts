// Models a LiteLLM proxy keeps in its database (LiteLLM_ProxyModelTable, added through /model/new or
// its UI) as config.yaml model_list entries. LiteLLM encrypts every string of their litellm_params;
// they are decrypted with LITELLM_SALT_KEY (or LiteLLM's master key). Credentials go to a .env file
// beside the YAML (read by `os.environ/NAME`), so that the config itself holds no secret.
import { chmodSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { Decrypter, looksEncrypted } from './decrypt.ts';
import { obj } from './map.ts';
import type { LiteLLMSource } from './source.ts';

export interface ModelsResult {
  written: number;
  skipped: number;
  file: string | null;
  envFile: string | null;
}

/** Credentials among a model's parameters (api_key, aws_secret_access_key, aws_session_token, client_secret, vertex_credentials, ...; not max_tokens). */
const SECRET = /(^|_)(key|secret|access_key_id|token|password|credentials?)$/i;
const ENV_SAFE = /^[^'\n\r]*$/;

const slug = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'MODEL';

/** A value on one line of a .env file: single-quoted, literal (JSON, such as Vertex credentials, compacted); null if it cannot be. */
function envValue(v: string): string | null {
  let line = v;
  if (!ENV_SAFE.test(line)) {
    try {
      line = JSON.stringify(JSON.parse(v));
    } catch {
      return null;
    }
    if (!ENV_SAFE.test(line)) return null;
  }
  return `'${line}'`;
}

export async function importModels(
  opts: { source: LiteLLMSource; dryRun: boolean; saltKey: string | null; modelsOut: string },
  note: (line: string) => void,
): Promise<ModelsResult> {
  const result: ModelsResult = { written: 0, skipped: 0, file: null, envFile: null };
  if (!opts.source.has('LiteLLM_ProxyModelTable')) return result;
  const decrypter = opts.saltKey ? new Decrypter(opts.saltKey) : null;
  const entries: Record<string, unknown>[] = [];
  const env: string[] = [];
  const names = new Set<string>();
  let needKey = 0;
  for await (const rows of opts.source.rows('LiteLLM_ProxyModelTable')) {
    for (const row of rows) {
      const name = String(row.model_name);
      const id = String(row.model_id);
      if (row.blocked === true) {
        result.skipped++;
        note(`model ${name} (${id}): blocked in LiteLLM; not imported`);
        continue;
      }
      const params: Record<string, unknown> = {};
      let failed: string | null = null;
      let locked = false;
      for (const [k, v] of Object.entries(obj(row.litellm_params))) {
        if (typeof v !== 'string' || !looksEncrypted(v)) {
          params[k] = v;
          continue;
        }
        if (!decrypter) {
          locked = true;
          break;
        }
        const plain = decrypter.decrypt(v);
        if (plain === null) {
          failed = k;
          break;
        }
        params[k] = plain;
      }
      if (locked) {
        result.skipped++;
        needKey++;
        continue;
      }
      if (failed) {
        result.skipped++;
        note(`model ${name} (${id}): litellm_params.${failed} cannot be decrypted with the key given (is LITELLM_SALT_KEY the one LiteLLM used?); not imported`);
        continue;
      }
      if (typeof params.litellm_credential_name === 'string') {
        note(`model ${name} (${id}): uses LiteLLM's stored credential ${params.litellm_credential_name}, which is not imported; give it its api_key`);
      }
      for (const [k, v] of Object.entries(params)) {
        if (typeof v !== 'string' || !SECRET.test(k) || v.startsWith('os.environ/')) continue;
        let varName = `LITELLM_MODEL_${slug(name)}_${slug(k)}`;
        if (names.has(varName)) varName = `${varName}_${slug(id).slice(0, 8)}`;
        const line = envValue(v);
        if (line === null) {
          note(`model ${name} (${id}): litellm_params.${k} does not fit on one line of a .env file; set ${varName} yourself`);
        } else env.push(`${varName}=${line}`);
        names.add(varName);
        params[k] = `os.environ/${varName}`;
      }
      entries.push({ model_name: name, litellm_params: params, model_info: { ...obj(row.model_info), id } });
      result.written++;
    }
  }
  if (needKey) {
    note(`${needKey} model${needKey > 1 ? 's' : ''} stored in LiteLLM's database ${needKey > 1 ? 'have' : 'has'} encrypted credentials: set LITELLM_SALT_KEY (or LITELLM_MASTER_KEY, LiteLLM's master key, if it had no salt key) to import ${needKey > 1 ? 'them' : 'it'}`);
  }
  if (entries.length === 0) return result;
  result.file = opts.modelsOut;
  result.envFile = opts.modelsOut.replace(/\.ya?ml$/, '') + '.env';
  if (opts.dryRun) return result;
  const header = `# Models from LiteLLM's database (LiteLLM_ProxyModelTable), written by llm-proxy import litellm.\n# Add these entries to model_list in config.yaml; their credentials are in ${result.envFile}: add its lines to .env.\n`;
  writeFileSync(result.file, header + stringify({ model_list: entries }));
  writeFileSync(result.envFile, env.length ? `${env.join('\n')}\n` : '', { mode: 0o600 });
  chmodSync(result.envFile, 0o600);
  return result;
}
