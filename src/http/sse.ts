// Server-sent events: finding frame boundaries in a byte stream, and writing an error frame.
import type { ServerResponse } from 'node:http';
import { type ErrorDialect, type GatewayError, errorBody } from './errors.ts';

const LF2 = Buffer.from('\n\n');
const CRLF2 = Buffer.from('\r\n\r\n');

/** Index just past the last complete frame in buf (0 if none). */
export function lastFrameEnd(buf: Buffer): number {
  // Most runs end with a frame: two byte reads instead of two searches of the whole run.
  const n = buf.length;
  if (n >= 2 && buf[n - 1] === 0x0a && (buf[n - 2] === 0x0a || (n >= 4 && buf[n - 2] === 0x0d && buf[n - 3] === 0x0a && buf[n - 4] === 0x0d))) return n;
  const a = buf.lastIndexOf(LF2);
  const b = buf.lastIndexOf(CRLF2);
  return Math.max(a < 0 ? 0 : a + 2, b < 0 ? 0 : b + 4);
}

/** Splits a run of complete frames into frames (each with its terminator). */
export function splitFrames(buf: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let start = 0;
  while (start < buf.length) {
    const a = buf.indexOf(LF2, start);
    const b = buf.indexOf(CRLF2, start);
    let end: number;
    if (a >= 0 && (b < 0 || a < b)) end = a + 2;
    else if (b >= 0) end = b + 4;
    else end = buf.length;
    frames.push(buf.subarray(start, end));
    start = end;
  }
  return frames;
}

/** The bounds of the frame of a run of frames that holds the byte at `at` (its terminator included). */
export function frameAround(buf: Buffer, at: number): { start: number; end: number } {
  const a = buf.lastIndexOf(LF2, at);
  const b = buf.lastIndexOf(CRLF2, at);
  const start = Math.max(a < 0 ? 0 : a + 2, b < 0 ? 0 : b + 4);
  const c = buf.indexOf(LF2, at);
  const d = buf.indexOf(CRLF2, at);
  const end = c >= 0 && (d < 0 || c < d) ? c + 2 : d >= 0 ? d + 4 : buf.length;
  return { start, end };
}

/** The `data:` payload of one frame (several data lines joined by newlines, as the spec says). */
export function frameData(frame: Buffer): string | null {
  let data: string | null = null;
  for (const line of frame.toString('utf8').split(/\r?\n/)) {
    if (line.startsWith('data:')) {
      const v = line.slice(line[5] === ' ' ? 6 : 5);
      data = data === null ? v : `${data}\n${v}`;
    }
  }
  return data;
}

/** The JSON `data:` payloads of a run of frames; `[DONE]` as the string, other non-JSON data skipped. */
export function* jsonFrames(run: Buffer): Generator<Record<string, any> | '[DONE]'> {
  for (const frame of splitFrames(run)) {
    const data = frameData(frame);
    if (data === null) continue;
    if (data.trim() === '[DONE]') {
      yield '[DONE]';
      continue;
    }
    try {
      const json = JSON.parse(data);
      if (json && typeof json === 'object') yield json;
    } catch {
      // not JSON: nothing to translate
    }
  }
}

/** An error as the last frame of a stream: OpenAI's `data:` line, or Anthropic's `error` event. */
export function errorFrame(dialect: ErrorDialect, err: GatewayError): string {
  if (dialect === 'responses') {
    // (the Responses API's error event, its fields at the top and in `error`, as OpenAI and LiteLLM send it)
    const e = { code: err.type, message: err.message, param: err.param };
    return `event: error\ndata: ${JSON.stringify({ type: 'error', ...e, error: { ...e, type: err.type } })}\n\n`;
  }
  const data = `data: ${JSON.stringify(errorBody(dialect, err))}\n\n`;
  return dialect === 'anthropic' ? `event: error\n${data}` : data;
}

export function writeSseError(res: ServerResponse, err: GatewayError, dialect: ErrorDialect = 'openai'): void {
  if (res.destroyed || res.writableEnded) return;
  res.end(errorFrame(dialect, err));
}

/**
 * The end of a translated OpenAI chat stream: the usage chunk (with no choices, as OpenAI sends it when
 * `stream_options.include_usage` asks for it), then `[DONE]`.
 */
export function chatStreamEnd(id: string | null, created: number, model: string, usage: Record<string, unknown> | null): string {
  const tail = 'data: [DONE]\n\n';
  if (!usage) return tail;
  return `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n${tail}`;
}
