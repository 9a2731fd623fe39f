// What a call needs from the provider side, whatever the two dialects: the request to send, and the
// answer turned back into the client's dialect (whole, or as a stream codec fed frame by frame) with
// the usage read on the way. One adapter per pair of client dialect and upstream wire format.
import type { Deployment } from '../config/load.ts';
import type { GatewayError } from '../http/errors.ts';
import type { UsageRecord } from '../metering/usage.ts';
import type { Wire } from './registry.ts';

/** The API the client speaks: OpenAI's chat (and embeddings, rerank), Anthropic's messages, OpenAI's Responses. */
export type Dialect = 'openai' | 'anthropic' | 'responses';

/** The content type of AWS's binary event streams (Bedrock's streamed answers). */
export const EVENT_STREAM_TYPE = 'application/vnd.amazon.eventstream';

export type Endpoint = 'chat/completions' | 'embeddings' | 'messages' | 'rerank' | 'responses' | 'completions';

export interface CallPlan {
  endpoint: Endpoint;
  body: Record<string, unknown>;
  /** The client's bytes, sent as they are when nothing changed; null when the gateway rewrote the body. */
  raw: Buffer | null;
  headers: Record<string, string | string[] | undefined>;
  dropParams: boolean;
}

export interface UpstreamRequest {
  url: string;
  headers: Record<string, string>;
  body: string | Buffer;
  /** Whether the client itself asked for a usage chunk (else the one the gateway asked for is dropped). */
  clientWantsUsage: boolean;
  /** The model asked for upstream, for answers that do not name it (translated ones). */
  model?: string;
  /** An embeddings call (for adapters that translate both kinds of answer). */
  embeddings?: boolean;
  /** A rerank call (Cohere's). */
  rerank?: boolean;
  /** The upstream speaks the Responses API itself (OpenAI's, Azure's). */
  responses?: boolean;
  /** A legacy completions call passed through (its text is in `text`). */
  completions?: boolean;
  /** The upstream may answer `content` as a list of blocks (Mistral's reasoning models). */
  contentBlocks?: boolean;
  /** The stream comes in AWS's event-stream framing (Claude on Bedrock's InvokeModel), Anthropic's events inside. */
  eventStream?: boolean;
}

export interface Translated {
  /** The answer in the client's dialect. */
  body: Buffer | string;
  usage: UsageRecord | null;
  upstreamId: string | null;
  /** The answer is an error although the provider said 200 (a safety filter withheld it); usage still counts. */
  error?: GatewayError;
  /** A Responses API answer: the Response object, which the gateway keeps for the next turn. */
  response?: Record<string, unknown>;
}

/**
 * Turns runs of complete upstream SSE frames (or raw bytes, for `binary` codecs) into the client's frames. The closing frames (`[DONE]`,
 * `message_stop`) are held back and given by `finish()`, written once the spend record is journaled.
 */
export interface StreamCodec {
  /** A run of complete frames in, what the client gets out; the run is the codec's to change in place. */
  push(frames: Buffer): Buffer | string;
  finish(): Buffer | string;
  usage: UsageRecord | null;
  upstreamId: string | null;
  /** Characters of generated text seen so far (text, reasoning, tool arguments): the running meter. */
  outputChars: number;
  /** An error the upstream sent inside the stream (already relayed to the client in its dialect). */
  upstreamError: GatewayError | null;
  /** Whether the upstream ended its stream properly; a stream that stops short is an error. */
  complete: boolean;
  /**
   * The upstream's stream is not SSE (Bedrock's binary event stream): `push` gets the bytes as they
   * come and does its own framing. Unset: runs of complete SSE frames.
   */
  readonly binary?: boolean;
  /**
   * The client's frame for an error the gateway ends the stream with (a budget cut, a timeout), when the
   * dialect needs the codec's state for it (the Responses API's sequence numbers); else the dialect's.
   */
  errorFrame?(err: GatewayError): string;
  /** A Responses API stream: the final Response object, once complete (kept for the next turn). */
  readonly response?: Record<string, unknown> | null;
}

export interface Adapter {
  request(plan: CallPlan, d: Deployment, upstreamModel: string): UpstreamRequest;
  /** `headers`: the answer's, for what a provider says there only (Bedrock's token counts). */
  answer(body: Buffer, up: UpstreamRequest, headers?: Record<string, string | string[] | undefined>): Translated;
  stream(up: UpstreamRequest): StreamCodec;
}

export type AdapterTable = Record<Dialect, Record<Wire, Adapter>>;
