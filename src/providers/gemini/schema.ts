// JSON schemas for Gemini (responseJsonSchema, parametersJsonSchema), which honours a documented subset
// of JSON Schema. A response schema using a constraint outside it is refused with the path of the
// keyword (an output format must never be loosened silently); tool schemas keep the subset, since a
// dropped constraint there only loosens a hint to the model (and agents' tool lists use many).
import { GatewayError } from '../../http/errors.ts';

/** The keywords Gemini's documentation lists as supported. */
const SUPPORTED = new Set([
  '$id', '$defs', '$ref', '$anchor', 'type', 'format', 'title', 'description', 'enum', 'items', 'prefixItems',
  'minItems', 'maxItems', 'minimum', 'maximum', 'anyOf', 'oneOf', 'properties', 'additionalProperties', 'required',
  'propertyOrdering', 'nullable',
]);
/** Annotations that constrain nothing: left out quietly. */
const ANNOTATIONS = new Set(['$schema', '$comment', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'strict']);
/** Keywords whose value is a map of names to schemas, and those whose value is a schema or a list of them. */
const SCHEMA_MAPS = new Set(['properties', '$defs', 'definitions']);
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'prefixItems']);

function walk(schema: unknown, path: string, strict: boolean): unknown {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
    const at = `${path}.${k}`;
    if (SCHEMA_MAPS.has(k) && v && typeof v === 'object') {
      const m: Record<string, unknown> = {};
      for (const [name, s] of Object.entries(v as Record<string, unknown>)) m[name] = walk(s, `${at}.${name}`, strict);
      // Gemini knows $defs; the older `definitions` is the same thing.
      out[k === 'definitions' ? '$defs' : k] = m;
    } else if (SCHEMA_LISTS.has(k) && Array.isArray(v)) out[k] = v.map((s, i) => walk(s, `${at}[${i}]`, strict));
    else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) out[k] = walk(v, at, strict);
    else if (k === '$ref' && typeof v === 'string') out[k] = v.replace('#/definitions/', '#/$defs/');
    else if (k === 'const' && (typeof v === 'string' || typeof v === 'number')) out.enum = [v];
    else if (SUPPORTED.has(k)) out[k] = v;
    else if (ANNOTATIONS.has(k) || !strict) continue;
    else throw new GatewayError('bad_request', `${at}: Gemini models do not support the JSON schema keyword "${k}" in a response format, so the answer could not be held to it.`, { param: at });
  }
  return out;
}

export const responseSchema = (schema: unknown, path: string) => walk(schema, path, true);
export const toolSchema = (schema: unknown) => walk(schema, 'parameters', false);
