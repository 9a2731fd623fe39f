// Claude through Bedrock's InvokeModel (bedrock/invoke/...): the body is Anthropic's (anthropic/request.ts
// makes it, with Bedrock's version and address), and so is the answer. Only the stream differs: each of
// Anthropic's events comes base64-encoded in an event-stream `chunk`. This codec unwraps them as SSE
// frames for the Anthropic codec the call would use anyway (the passthrough, or the chat translation).
import { type ErrorDialect, GatewayError } from '../../http/errors.ts';
import { errorFrame } from '../../http/sse.ts';
import type { Adapter, StreamCodec } from '../adapter.ts';
import { bedrockError } from './errors.ts';
import { EventStreamReader } from './event-stream.ts';
import { WrappedCodec } from '../wrapped-codec.ts';

class InvokeStream extends WrappedCodec {
  override get binary(): boolean {
    return true;
  }
  private readonly reader = new EventStreamReader();
  private ownError: GatewayError | null = null;
  private readonly dialect: ErrorDialect;
  private readonly model: string;

  constructor(inner: StreamCodec, dialect: ErrorDialect, model: string) {
    super(inner);
    this.dialect = dialect;
    this.model = model;
  }

  override get upstreamError(): GatewayError | null {
    return this.ownError ?? this.inner.upstreamError;
  }

  push(bytes: Buffer): Buffer | string {
    let frames = '';
    let failure: GatewayError | null = null;
    for (const ev of this.reader.push(bytes)) {
      if (ev.kind !== 'event') {
        failure = bedrockError(this.model, ev.name, String(ev.payload.message ?? ev.payload.Message ?? 'stream error'));
        break;
      }
      if (ev.name !== 'chunk' || typeof ev.payload.bytes !== 'string') continue;
      const json = Buffer.from(ev.payload.bytes, 'base64').toString('utf8');
      let type = 'message';
      try {
        type = String(JSON.parse(json).type ?? type);
      } catch {
        // relayed as it came; the inner codec skips what it cannot read
      }
      frames += `event: ${type}\ndata: ${json}\n\n`;
    }
    // (the events before a corrupt message were read: its usage, if it came, counts)
    const broken = this.reader.failure;
    if (broken && !failure) failure = new GatewayError('upstream_unreachable', `The bedrock stream could not be read (model ${this.model}): ${broken.message}`);
    let out = frames === '' ? '' : this.inner.push(Buffer.from(frames));
    if (failure && !this.upstreamError) {
      this.ownError = failure;
      out = (typeof out === 'string' ? out : out.toString('utf8')) + errorFrame(this.dialect, failure);
    }
    return out;
  }

  finish(): Buffer | string {
    return this.inner.finish();
  }
}

/** The same adapter, its streams read from Bedrock's event stream when the request says so. */
export function onBedrock(adapter: Adapter, dialect: ErrorDialect): Adapter {
  return {
    request: adapter.request,
    answer: adapter.answer,
    stream: (up) => (up.eventStream ? new InvokeStream(adapter.stream(up), dialect, up.model ?? '') : adapter.stream(up)),
  };
}
