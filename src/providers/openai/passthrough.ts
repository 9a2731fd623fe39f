// OpenAI dialect to an OpenAI-wire upstream: the answer goes back as the upstream wrote it. Streams are
// relayed frame by frame (N upstream frames, N client frames); the usage chunk the gateway asked for is
// read on the side and dropped when the client did not ask for it, and the output is metered by
// scanning the bytes for the text fields, without parsing every chunk.
import { GatewayError } from '../../http/errors.ts';
import { frameAround, frameData, splitFrames } from '../../http/sse.ts';
import { fromOpenAI, type UsageRecord } from '../../metering/usage.ts';
import type { Adapter, StreamCodec, Translated, UpstreamRequest } from '../adapter.ts';
import { buildRequest } from './request.ts';

const USAGE_KEY = Buffer.from('"usage"');
// With include_usage, OpenAI adds "usage":null to every chunk; a client that did not ask never sees it.
const USAGE_NULL_TEXT = ',"usage":null';
const USAGE_NULL = Buffer.from(USAGE_NULL_TEXT);
const DONE = Buffer.from('data: [DONE]');
const ID = /"id"\s*:\s*"([^"]+)"/;
/**
 * Every key a stream's frames are read for, found in one pass: the text fields (metered), usage (an
 * object to read, or OpenAI's null to drop), a string finish_reason (the answer is complete, as with
 * [DONE]: not every server sends it) and an error object (reasoning text is `reasoning_content` at
 * DeepSeek and others, `reasoning` at OpenRouter and in newer vLLM; a legacy completion's is `text`,
 * counted in completions streams only: OpenRouter repeats its reasoning as reasoning_details[].text).
 * One regular expression over the run costs a fifth of a Buffer search for each key. A key inside a string value cannot match: its closing quote would be escaped.
 */
const KEYS = /"(?:usage|content|reasoning_content|reasoning|arguments|text|finish_reason|error)"\s*:\s*|data: \[DONE\]/g;
const EMPTY = Buffer.alloc(0);
/** A chunk whose choices are empty, as the usage-only chunk's are. */
const NO_CHOICES = /"choices"\s*:\s*\[\s*\]/;

/** The length of a JSON string's body from `from` (just past its opening quote), escapes as written. */
export function stringBody(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) break;
    i += c === 0x5c ? 2 : 1;
  }
  return Math.min(i, text.length) - from;
}

/** buf without the `length` bytes at each of `at` (ascending), moved in place (the codec's run is its own). */
function removeAt(buf: Buffer, at: number[], length: number): Buffer {
  let to = at[0]!;
  for (let i = 0; i < at.length; i++) {
    const from = at[i]! + length;
    const until = i + 1 < at.length ? at[i + 1]! : buf.length;
    // what follows a removed part is mostly a frame's last bytes: a loop beats a native call there
    if (until - from < 32) for (let k = from; k < until; k++) buf[to++] = buf[k]!;
    else {
      buf.copyWithin(to, from, until);
      to += until - from;
    }
  }
  return buf.subarray(0, to);
}

/** buf with every occurrence of part removed, in place. */
function without(buf: Buffer, part: Buffer): Buffer {
  const at: number[] = [];
  for (let i = buf.indexOf(part); i >= 0; i = buf.indexOf(part, i + part.length)) at.push(i);
  return at.length === 0 ? buf : removeAt(buf, at, part.length);
}

/** The `error` object of an OpenAI stream's error frame as a GatewayError. */
export function openaiStreamError(e: Record<string, unknown> | undefined): GatewayError {
  return new GatewayError('upstream_error', String(e?.message ?? 'The provider sent an error in the stream.'), {
    status: 500,
    type: typeof e?.type === 'string' ? e.type : 'api_error',
  });
}

class OpenAIPassthroughStream implements StreamCodec {
  usage: UsageRecord | null = null;
  upstreamId: string | null = null;
  outputChars = 0;
  upstreamError: GatewayError | null = null;
  complete = false;
  private tail: Buffer | null = null;
  private readonly dropUsage: boolean;
  /** A legacy completions stream: its text is in `text`. */
  private readonly countsText: boolean;

  constructor(up: UpstreamRequest) {
    this.dropUsage = !up.clientWantsUsage;
    this.countsText = up.completions === true;
  }

  push(run: Buffer): Buffer {
    let out = run;
    // One pass of KEYS over the run's bytes (as latin1, one char a byte: offsets are the Buffer's).
    const text = out.toString('latin1');
    if (this.upstreamId === null) this.upstreamId = ID.exec(text.slice(0, 512))?.[1] ?? null;
    let done = -1;
    let usageNulls: number[] | null = null;
    let usageObjects: number[] | null = null;
    let error = false;
    KEYS.lastIndex = 0;
    // test() rather than exec(): no match object is made for each key; which key it was is read from
    // the bytes before its value (the last letter of its name tells them apart).
    while (KEYS.test(text)) {
      const value = KEYS.lastIndex;
      if (text.charCodeAt(value - 1) === 0x5d) {
        // data: [DONE]
        if (done < 0) done = value - DONE.length;
        this.complete = true;
        continue;
      }
      let quote = value - 1;
      while (text.charCodeAt(quote) !== 0x22) quote--;
      switch (text.charCodeAt(quote - 1)) {
        case 0x65: // usage
          if (text.charCodeAt(value) === 0x7b) (usageObjects ??= []).push(value);
          else if (text.startsWith(USAGE_NULL_TEXT, quote - 7)) (usageNulls ??= []).push(quote - 7);
          break;
        case 0x6e: // finish_reason
          if (text.charCodeAt(value) === 0x22) this.complete = true;
          break;
        case 0x72: // error
          if (text.charCodeAt(quote - 7) === 0x7b) error = true;
          break;
        default: // a text field ("text" only in completions streams)
          if (text.charCodeAt(value) === 0x22 && (this.countsText || !(text.charCodeAt(quote - 5) === 0x22 && text.startsWith('text', quote - 4)))) {
            this.outputChars += stringBody(text, value + 1);
          }
      }
    }
    if (usageObjects) out = this.takeUsage(out, text, usageObjects);
    if (usageNulls && this.dropUsage) out = out === run ? removeAt(out, usageNulls, USAGE_NULL.length) : without(out, USAGE_NULL);
    if (error) this.readError(out);
    // The [DONE] frame waits until the ledger has the record.
    if (done >= 0 && out !== run) done = out.indexOf(DONE);
    if (done >= 0) {
      this.tail = this.tail ? Buffer.concat([this.tail, out.subarray(done)]) : out.subarray(done);
      return out.subarray(0, done);
    }
    if (this.tail) {
      this.tail = Buffer.concat([this.tail, out]);
      return EMPTY;
    }
    return out;
  }

  finish(): Buffer {
    return this.tail ?? EMPTY;
  }

  /** An error frame in the stream (relayed as it is): the answer ends there, as an error. */
  private readError(run: Buffer): void {
    for (const frame of splitFrames(run)) {
      const data = frameData(frame);
      if (data === null || !data.startsWith('{"error"')) continue;
      try {
        this.upstreamError = openaiStreamError((JSON.parse(data) as { error?: Record<string, unknown> }).error);
        return;
      } catch {
        // not JSON: not an error frame
      }
    }
  }

  /**
   * Reads usage from the latest frame that carries it (its usage object only is parsed: a burst of
   * frames can arrive in one run); drops the usage-only chunks the client did not ask for.
   */
  private takeUsage(run: Buffer, text: string, objects: number[]): Buffer {
    let out = run;
    let before = run.length;
    let latest = true;
    // From the last: what is dropped does not move the frames before it (their offsets in text hold),
    // and the latest usage that can be read counts.
    for (let i = objects.length - 1; i >= 0; i--) {
      const at = objects[i]!;
      if (at >= before) continue; // in the frame just read
      if (latest) {
        const usage = objectAt(text, at);
        if (usage) {
          this.usage = fromOpenAI(usage);
          latest = false;
        }
      }
      if (!this.dropUsage) {
        if (latest) continue; // not readable: an earlier one may be
        break;
      }
      const { start, end } = frameAround(out, at);
      before = start;
      if (NO_CHOICES.test(out.toString('latin1', start, end))) out = Buffer.concat([out.subarray(0, start), out.subarray(end)]);
    }
    return out;
  }
}

export function parseJsonAnswer(body: Buffer): Record<string, any> | null {
  try {
    const json = JSON.parse(body.toString('utf8'));
    return json && typeof json === 'object' && !Array.isArray(json) ? json : null;
  } catch {
    return null;
  }
}

/**
 * The `usage` object of an answer passed through, without parsing the whole answer: the last
 * `"usage"` key (a string value cannot contain it unescaped) and its braces. Null when not found.
 */
export function usageSlice(body: Buffer): Record<string, unknown> | null {
  const at = body.lastIndexOf(USAGE_KEY);
  if (at < 0) return null;
  const open = body.indexOf(0x7b, at + USAGE_KEY.length); // '{'
  if (open < 0) return null;
  // Only a colon and white space between the key and its object.
  let colons = 0;
  for (let i = at + USAGE_KEY.length; i < open; i++) {
    const c = body[i];
    if (c === 0x3a) colons++;
    else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return null;
  }
  if (colons !== 1) return null;
  return objectAt(body.toString('latin1', open), 0);
}

/** The JSON object whose `{` is at `open` in text (its braces matched, those in strings aside), or null. */
function objectAt(text: string, open: number): Record<string, unknown> | null {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a key or a string value: its braces do not count
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      continue;
    }
    if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      try {
        return JSON.parse(text.slice(open, i + 1));
      } catch {
        return null;
      }
    }
  }
  return null;
}

export const openaiPassthrough: Adapter = {
  request: buildRequest,
  answer(body: Buffer): Translated {
    const usage = usageSlice(body);
    if (usage) return { body, usage: fromOpenAI(usage), upstreamId: ID.exec(body.subarray(0, 512).toString('latin1'))?.[1] ?? null };
    const json = parseJsonAnswer(body);
    const u = json?.usage;
    return {
      body,
      usage: u && typeof u === 'object' ? fromOpenAI(u) : null,
      upstreamId: typeof json?.id === 'string' ? json.id : null,
    };
  },
  stream: (up) => new OpenAIPassthroughStream(up),
};
