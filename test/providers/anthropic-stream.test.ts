// The Anthropic pass-through stream codec on recorded streams, frame by frame and in one burst: the
// same bytes out (message_stop held back until finish), usage read, and every text, thinking and
// tool-input delta metered as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { anthropicPassthrough } from '../../src/providers/anthropic/passthrough.ts';
import type { UpstreamRequest } from '../../src/providers/adapter.ts';

const up: UpstreamRequest = { url: '', headers: {}, body: '', clientWantsUsage: true };

/** What the codec should meter: the bytes of the delta fields' JSON string bodies, escapes as written. */
function deltaChars(sse: string): number {
  let n = 0;
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: {"type":"content_block_delta"')) continue;
    const d = (JSON.parse(line.slice(6)) as { delta: Record<string, string> }).delta;
    for (const k of ['text', 'thinking', 'partial_json']) if (typeof d[k] === 'string') n += Buffer.byteLength(JSON.stringify(d[k])) - 2;
  }
  return n;
}

for (const fixture of ['stream-text', 'stream-thinking', 'stream-tool-use', 'stream-error-midway']) {
  const sse = readFileSync(new URL(`../fixtures/anthropic/${fixture}.sse`, import.meta.url), 'utf8');
  const frames = sse.split(/(?<=\n\n)/);
  for (const [how, runs] of [['frame by frame', frames], ['in one burst', [sse]]] as const) {
    test(`${fixture} ${how}: relayed as sent, usage read, output metered`, () => {
      const codec = anthropicPassthrough.stream(up);
      const out = runs.map((r) => codec.push(Buffer.from(r)).toString()).join('') + codec.finish().toString();
      assert.equal(out, sse);
      assert.equal(codec.outputChars, deltaChars(sse));
      assert.ok(codec.usage && codec.usage.input > 0);
      if (fixture === 'stream-error-midway') assert.match(codec.upstreamError?.message ?? '', /Overloaded/);
      else assert.equal(codec.complete, true);
    });
  }
}
