// Anthropic dialect to an Anthropic upstream: the answer goes back as Anthropic wrote it, frame by
// frame, while usage is read from `message_start` and `message_delta`, output is metered from the text,
// thinking and tool-input deltas, and `message_stop` is held back until the spend record is journaled.
import type { GatewayError } from '../../http/errors.ts';
import { frameData, splitFrames } from '../../http/sse.ts';
import { fromAnthropic, mergeAnthropicUsage, type UsageRecord } from '../../metering/usage.ts';
import type { Adapter, StreamCodec, Translated } from '../adapter.ts';
import { parseJsonAnswer, stringBody } from '../openai/passthrough.ts';
import { passthroughRequest } from './request.ts';
import { anthropicStreamError, provisional } from './response.ts';

/**
 * One pass over a run (as latin1: offsets are the Buffer's) finds the metered text fields and whether
 * a frame needs reading (usage, message_stop, an error event); a key quoted inside a text cannot match.
 */
const KEYS = /"(text|thinking|partial_json)"\s*:\s*"|"usage"|"message_stop"|event: error/g;
const USAGE = Buffer.from('"usage"');
const STOP = Buffer.from('"message_stop"');
const ERROR = Buffer.from('event: error');
const EMPTY = Buffer.alloc(0);

class AnthropicPassthroughStream implements StreamCodec {
  usage: UsageRecord | null = null;
  upstreamId: string | null = null;
  outputChars = 0;
  upstreamError: GatewayError | null = null;
  complete = false;
  private rawUsage: Record<string, unknown> = {};
  private tail: Buffer | null = null;

  push(run: Buffer): Buffer {
    const text = run.toString('latin1');
    let read = this.tail !== null;
    KEYS.lastIndex = 0;
    for (let m = KEYS.exec(text); m !== null; m = KEYS.exec(text)) {
      if (m[1] === undefined) read = true;
      else this.outputChars += stringBody(text, m.index + m[0].length);
    }
    if (!read) return run;
    const keep: Buffer[] = [];
    for (const frame of splitFrames(run)) {
      if (this.tail) {
        this.tail = Buffer.concat([this.tail, frame]);
        continue;
      }
      const data = frame.indexOf(USAGE) >= 0 || frame.indexOf(STOP) >= 0 || frame.indexOf(ERROR) >= 0 ? frameData(frame) : null;
      let ev: Record<string, any> | null = null;
      try {
        ev = data === null ? null : JSON.parse(data);
      } catch {
        // not JSON: relayed untouched
      }
      if (ev?.type === 'message_start') {
        this.upstreamId = typeof ev.message?.id === 'string' ? ev.message.id : null;
        this.rawUsage = mergeAnthropicUsage({}, ev.message?.usage);
        this.usage = provisional(this.rawUsage);
      } else if (ev?.type === 'message_delta' && ev.usage) {
        this.usage = fromAnthropic(mergeAnthropicUsage(this.rawUsage, ev.usage));
      } else if (ev?.type === 'message_stop') {
        this.complete = true;
        this.tail = frame;
        continue;
      } else if (ev?.type === 'error') {
        this.upstreamError = anthropicStreamError(ev);
      }
      keep.push(frame);
    }
    return Buffer.concat(keep);
  }

  finish(): Buffer {
    return this.tail ?? EMPTY;
  }

}

export const anthropicPassthrough: Adapter = {
  request: passthroughRequest,
  answer(body: Buffer): Translated {
    const json = parseJsonAnswer(body);
    return {
      body,
      usage: json?.usage && typeof json.usage === 'object' ? fromAnthropic(json.usage) : null,
      upstreamId: typeof json?.id === 'string' ? json.id : null,
    };
  },
  stream: () => new AnthropicPassthroughStream(),
};
