// What every translated embeddings call shares: the texts of OpenAI's `input`, and each vector in the
// answer as floats or, when asked (the openai SDKs ask by default), base64 of little-endian float32.
import { GatewayError } from '../http/errors.ts';
import { countTokensNow } from '../metering/estimate.ts';
import { EMPTY_USAGE, type UsageRecord } from '../metering/usage.ts';

/** The texts of `input` (a string or a list of them); token arrays cannot be translated. */
export function textInputs(input: unknown, models: string): string[] {
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new GatewayError('bad_request', 'input must not be empty.', { param: 'input' });
  return list.map((v, i) => {
    if (typeof v === 'string') return v;
    const param = Array.isArray(input) ? `input[${i}]` : 'input';
    throw new GatewayError('bad_request', `input must be text (a string or an array of strings) for ${models}: token arrays cannot be sent to them.`, { param });
  });
}

/** Whether the answer's vectors go as base64 (else floats); any other encoding_format is refused. */
export function wantsBase64(format: unknown): boolean {
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') {
    throw new GatewayError('bad_request', 'encoding_format must be float or base64.', { param: 'encoding_format' });
  }
  return format === 'base64';
}

export function encodeVector(values: number[], base64: boolean): number[] | string {
  return base64 ? Buffer.from(new Float32Array(values).buffer).toString('base64') : values;
}

/**
 * OpenAI's embeddings list of the provider's vectors, with the tokens the provider counted, else the
 * gateway's count of the inputs (marked estimated): the same number in the answer and the ledger.
 */
export function embeddingsList(vectors: number[][], base64: boolean, model: string | undefined, counted: number, inputs: readonly string[]): { body: string; usage: UsageRecord } {
  const usage: UsageRecord =
    Number.isFinite(counted) && counted > 0
      ? { ...EMPTY_USAGE, input: counted }
      : { ...EMPTY_USAGE, input: inputs.reduce((n, t) => n + countTokensNow(t), 0), estimated: true };
  const out = {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: encodeVector(v, base64) })),
    model,
    usage: { prompt_tokens: usage.input, total_tokens: usage.input },
  };
  return { body: JSON.stringify(out), usage };
}
