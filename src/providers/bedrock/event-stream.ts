// Bedrock streams in AWS's binary event-stream framing (application/vnd.amazon.eventstream), not SSE:
// length-prefixed messages with typed headers and CRCs. AWS's own codec (@smithy/core/event-streams, what
// the AWS SDK uses) decodes and checks each message; this only gathers a message's bytes by the total
// length its prelude starts with (what the SDK's getChunkedStream does, which is asynchronous and pulls,
// where a relay's codec is pushed bytes and answers at once), then reads its kind, name and JSON payload.
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

export interface AwsEvent {
  /** `event` for data, `exception` for a modelled error (throttlingException, ...), `error` for others. */
  kind: string;
  /** The event's type (contentBlockDelta, chunk, ...) or the exception's. */
  name: string;
  payload: Record<string, any>;
}

function header(h: Record<string, { type: string; value: unknown }>, name: string): string {
  const v = h[name];
  return v && v.type === 'string' ? (v.value as string) : '';
}

/** AWS's limit on one event-stream message (16 MiB of payload, with its headers): a longer one is corrupt. */
const MAX_MESSAGE = 16 * 1024 * 1024 + 128 * 1024;
/** The prelude (total length, headers length, CRC) and the trailing CRC. */
const FRAMING = 16;

export class EventStreamReader {
  private readonly codec = new EventStreamCodec(toUtf8, fromUtf8);
  private pending: Buffer | null = null;
  /** Why the stream cannot be read further (a corrupt message); the events before it were given. */
  failure: Error | null = null;

  /** The messages completed by these bytes (a message may span many reads of the socket). */
  push(bytes: Buffer): AwsEvent[] {
    if (this.failure) return [];
    const buf = this.pending ? Buffer.concat([this.pending, bytes]) : bytes;
    let at = 0;
    try {
      while (buf.length - at >= 4) {
        const total = buf.readUInt32BE(at);
        if (total < FRAMING || total > MAX_MESSAGE) throw new Error(`an event-stream message of ${total} bytes`);
        if (buf.length - at < total) break;
        // (the codec checks both CRCs and the lengths inside)
        this.codec.feed(buf.subarray(at, at + total));
        at += total;
      }
    } catch (err) {
      this.failure = err as Error;
    }
    this.pending = at < buf.length && !this.failure ? buf.subarray(at) : null;
    const out: AwsEvent[] = [];
    for (const m of this.codec.getAvailableMessages().getMessages()) {
      const kind = header(m.headers, ':message-type') || 'event';
      const name = kind === 'event' ? header(m.headers, ':event-type') : kind === 'exception' ? header(m.headers, ':exception-type') : header(m.headers, ':error-code');
      let payload: Record<string, any> = {};
      const text = toUtf8(m.body);
      try {
        const v = text === '' ? {} : JSON.parse(text);
        if (v && typeof v === 'object') payload = v;
      } catch {
        payload = { message: text };
      }
      if (kind === 'error' && payload.message === undefined) payload.message = header(m.headers, ':error-message');
      out.push({ kind, name, payload });
    }
    return out;
  }
}
