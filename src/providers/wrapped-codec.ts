// A stream codec built on another (a translation on top of a provider's codec): what is metered and
// known about the answer is the inner codec's; the wrapper changes only what the client gets.
import type { GatewayError } from '../http/errors.ts';
import type { UsageRecord } from '../metering/usage.ts';
import type { StreamCodec } from './adapter.ts';

export abstract class WrappedCodec implements StreamCodec {
  protected readonly inner: StreamCodec;

  constructor(inner: StreamCodec) {
    this.inner = inner;
  }

  get usage(): UsageRecord | null {
    return this.inner.usage;
  }
  get upstreamId(): string | null {
    return this.inner.upstreamId;
  }
  get outputChars(): number {
    return this.inner.outputChars;
  }
  get upstreamError(): GatewayError | null {
    return this.inner.upstreamError;
  }
  get complete(): boolean {
    return this.inner.complete;
  }
  get binary(): boolean | undefined {
    return this.inner.binary;
  }

  abstract push(run: Buffer): Buffer | string;
  abstract finish(): Buffer | string;
}
