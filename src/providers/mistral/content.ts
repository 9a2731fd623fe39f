// Mistral's reasoning models (Magistral, and others with reasoning_effort) answer `content` as a list of
// blocks, `{"type":"thinking","thinking":[{"type":"text","text":...}]}` and `{"type":"text","text":...}`,
// whole and in stream deltas, where OpenAI's clients expect a string. Such answers are put in OpenAI's
// form before anything else reads them: the text as `content`, the thinking as `reasoning_content`.
// Answers without a list pass untouched (one search a run, and only for such upstreams).
import { splitFrames, frameData } from '../../http/sse.ts';
import type { Adapter, StreamCodec } from '../adapter.ts';

const LIST = /"content"\s*:\s*\[/;
const hasList = (b: Buffer) => LIST.test(b.toString('latin1'));

function textOf(parts: unknown): string {
  return Array.isArray(parts) ? parts.map((p: any) => (p?.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('') : '';
}

/** A message or delta whose content is a list of blocks, in OpenAI's form (changed in place). */
function flatten(m: Record<string, any> | undefined): void {
  if (!m || !Array.isArray(m.content)) return;
  let text = '';
  let thinking = '';
  for (const b of m.content) {
    if (b?.type === 'text' && typeof b.text === 'string') text += b.text;
    else if (b?.type === 'thinking') thinking += textOf(b.thinking);
  }
  m.content = text;
  if (thinking !== '') m.reasoning_content = (typeof m.reasoning_content === 'string' ? m.reasoning_content : '') + thinking;
}

function flattenAnswer(json: Record<string, any>): void {
  for (const c of Array.isArray(json.choices) ? json.choices : []) {
    flatten(c?.message);
    flatten(c?.delta);
  }
}

export function flattenBody(body: Buffer): Buffer {
  if (!hasList(body)) return body;
  try {
    const json = JSON.parse(body.toString('utf8'));
    flattenAnswer(json);
    return Buffer.from(JSON.stringify(json));
  } catch {
    return body;
  }
}

/** A run of stream frames with each listed content flattened (frames without one kept as they are). */
export function flattenFrames(run: Buffer): Buffer {
  if (!hasList(run)) return run;
  const out: Buffer[] = [];
  for (const frame of splitFrames(run)) {
    const data = hasList(frame) ? frameData(frame) : null;
    let json: Record<string, any> | null = null;
    try {
      json = data === null ? null : JSON.parse(data);
    } catch {
      // not JSON: relayed as it is
    }
    if (!json) {
      out.push(frame);
      continue;
    }
    flattenAnswer(json);
    out.push(Buffer.from(`data: ${JSON.stringify(json)}\n\n`));
  }
  return Buffer.concat(out);
}

/** An OpenAI-wire adapter that first flattens listed content, for the upstreams that send it. */
export function flatteningContent(inner: Adapter): Adapter {
  return {
    request: inner.request,
    answer: (body, up) => inner.answer(up.contentBlocks ? flattenBody(body) : body, up),
    stream(up) {
      const codec = inner.stream(up);
      if (!up.contentBlocks) return codec;
      const push = codec.push.bind(codec);
      codec.push = (run: Buffer) => push(flattenFrames(run));
      return codec as StreamCodec;
    },
  };
}
