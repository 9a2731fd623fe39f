// A call's cancellation. undici takes an EventEmitter as a request's `signal`; an AbortController
// with its listeners cost ~0.7 µs, and a call had two of them (its own and its attempt's).
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export class Abort extends EventEmitter {
  aborted = false;
  /** Read by undici as the error of the request it aborts. */
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }

  /** An abort of `parent` aborts this one too, until `unlink` is called. */
  follow(parent: Abort): () => void {
    if (parent.aborted) this.abort(parent.reason);
    const onAbort = () => this.abort(parent.reason);
    parent.once('abort', onAbort);
    return () => parent.off('abort', onAbort);
  }
}

/** Waits `ms`, or rejects with the abort's reason as soon as it is aborted (backoff between retries). */
export async function pause(ms: number, abort: Abort): Promise<void> {
  if (abort.aborted) throw abort.reason;
  const controller = new AbortController();
  const onAbort = () => controller.abort(abort.reason);
  abort.once('abort', onAbort);
  try {
    await sleep(ms, undefined, { signal: controller.signal });
  } catch {
    throw abort.reason;
  } finally {
    abort.off('abort', onAbort);
  }
}
