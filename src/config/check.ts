// `llm-proxy check-config config.yaml`: for every setting of a LiteLLM config, whether this gateway
// honours it, honours it its own way, or ignores it (settings.ts), and whether the file loads here.
// Exit 0: nothing that changes behaviour is lost; 1: a setting that changes what LiteLLM does is
// ignored, or a setting is unknown; 2: the file cannot be used (unreadable, invalid, bad arguments).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from './load.ts';
import { SETTINGS, settingAt, type Setting } from './settings.ts';

export const CHECK_USAGE = 'usage: llm-proxy check-config [config.yaml]   (default: $CONFIG_FILE_PATH, else ./config.yaml)';

interface Found {
  path: string;
  setting: Setting | undefined;
}

/** Places in the table with entries under them (cache_params.ttl under cache_params): those are walked into. */
const PARENTS = new Set(
  SETTINGS.flatMap((s) => {
    const parts = s.path.split('.');
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
  }),
);

function walk(value: unknown, path: string, found: Found[]): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${path}[${i}]`, found));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const p = path ? `${path}.${k}` : k;
    const normalized = p.replace(/\[\d+\]/g, '');
    const setting = settingAt(p);
    // A model's own parameters: only those the table names are reported (the others go to the provider).
    const open = /^model_list\.(litellm_params|model_info)\./.test(normalized);
    if (!open || setting) found.push({ path: p, setting });
    if (PARENTS.has(normalized)) walk(v, p, found);
  }
}

export function checkConfig(file: string, env: NodeJS.ProcessEnv): { report: string; code: number } {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'), { version: '1.1' }) ?? {};
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { report: `${file}: ${e.code ? `cannot be read (${e.code})` : `is not valid YAML: ${e.message.split('\n')[0]}`}`, code: 2 };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) return { report: `${file}: (top level): must be a mapping`, code: 2 };
  const all: Found[] = [];
  walk(raw, '', all);
  // The parts of a model are counted as the model (its entry is checked when the file is loaded below).
  // and the sections stand for the settings in them.
  const found = all.filter((f) => !/^model_list\[\d+\]\.(model_name|litellm_params|model_info)$|^(general|litellm|router)_settings$/.test(f.path));
  const lines: string[] = [`${file}: every setting, and what this gateway does with it`, ''];
  const models = Array.isArray((raw as Record<string, unknown>).model_list) ? ((raw as Record<string, unknown>).model_list as unknown[]).length : 0;
  let lost = 0;
  let unknown = 0;
  const counts = { honoured: 0, differs: 0, own: 0, ignored: 0 };
  for (const { path, setting } of found) {
    if (!setting) {
      unknown++;
      lines.push(`  UNKNOWN   ${path}: not a setting this gateway knows; ignored (if LiteLLM acts on it, this gateway does not)`);
      continue;
    }
    counts[setting.support]++;
    const note = setting.note ? `: ${setting.note}` : '';
    if (setting.support === 'ignored' && setting.behaviour) {
      lost++;
      lines.push(`  IGNORED   ${path}${note} (this changes what LiteLLM does)`);
    } else if (setting.support === 'ignored') lines.push(`  ignored   ${path}${note}`);
    else if (setting.support === 'differs') lines.push(`  differs   ${path}${note}`);
    else if (setting.support === 'own') lines.push(`  own       ${path}${note}`);
    else lines.push(`  honoured  ${path === 'model_list' ? `model_list (${models} model${models === 1 ? '' : 's'})` : path}${note}`);
  }
  let loadWarnings: string[] = [];
  try {
    loadWarnings = loadConfig(file, { ...env }).warnings.filter((w) => !/ IGNORED \(|is a LiteLLM setting this gateway has no use for|is not a known setting/.test(w));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    lines.push('', `The file does not load here: ${err.message}`);
    return { report: lines.join('\n'), code: 2 };
  }
  if (loadWarnings.length) lines.push('', 'Loading it here also says:', ...loadWarnings.map((w) => `  ${w}`));
  lines.push(
    '',
    `${found.length} setting${found.length === 1 ? '' : 's'}: ${counts.honoured} honoured, ${counts.differs} honoured differently, ${counts.own} this gateway's own, ${counts.ignored} ignored (${lost} of them change${lost === 1 ? 's' : ''} what LiteLLM does), ${unknown} unknown.`,
    lost || unknown
      ? 'Not ready to switch as it is: each IGNORED or UNKNOWN setting above is behaviour this gateway will not have.'
      : 'Ready to switch: nothing this file asks of LiteLLM is lost here.',
  );
  return { report: lines.join('\n'), code: lost || unknown ? 1 : 0 };
}
