// The OpenAI pass-through stream codec on runs of frames as they arrive: one frame at a time, or a
// burst of frames in one read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openaiPassthrough } from '../../src/providers/openai/passthrough.ts';
import type { UpstreamRequest } from '../../src/providers/adapter.ts';

const up = (clientWantsUsage: boolean): UpstreamRequest => ({ url: '', headers: {}, body: '', clientWantsUsage });
const frame = (o: object) => `data: ${JSON.stringify(o)}\n\n`;
const chunk = (content: string | null, finish: string | null) =>
  frame({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: 'gpt-4', choices: content === null && finish === null ? [] : [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }], usage: null });
const usageChunk = frame({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: 'gpt-4', choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } });
const STREAM = [chunk('Hel', null), chunk('lo!', null), chunk(null, 'stop'), usageChunk, 'data: [DONE]\n\n'];

function run(runs: string[], clientWantsUsage: boolean) {
  const codec = openaiPassthrough.stream(up(clientWantsUsage));
  const out = runs.map((r) => codec.push(Buffer.from(r)).toString()).join('') + codec.finish().toString();
  return { out, codec };
}

for (const [name, runs] of [['frame by frame', STREAM], ['in one burst', [STREAM.join('')]], ['in two bursts', [STREAM.slice(0, 2).join(''), STREAM.slice(2).join('')]]] as const) {
  test(`usage read and output metered the same way ${name}`, () => {
    for (const wants of [false, true]) {
      const { out, codec } = run([...runs], wants);
      assert.equal(codec.usage?.input, 9);
      assert.equal(codec.usage?.output, 3);
      assert.equal(codec.outputChars, 6);
      assert.equal(codec.complete, true);
      assert.equal(codec.upstreamId, 'chatcmpl-1');
      const frames = out.split('\n\n').filter(Boolean);
      if (wants) assert.equal(out, STREAM.join(''), 'a client that asked for usage gets the stream as sent');
      else {
        assert.equal(frames.length, 4, 'the usage-only chunk the gateway asked for is dropped');
        assert.ok(!out.includes('"usage"'), 'and so are the "usage":null fields');
        assert.equal(frames.at(-1), 'data: [DONE]');
      }
    }
  });
}

test('a usage chunk that also carries a choice is kept, its usage read', () => {
  const both = frame({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: 'gpt-4', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 } });
  const { out, codec } = run([chunk('x', null) + both + 'data: [DONE]\n\n'], false);
  assert.equal(codec.usage?.input, 2);
  assert.equal(out.split('\n\n').filter(Boolean).length, 3);
});

test("servers that write JSON with spaces (Python's default) are metered and end the same way", () => {
  const spaced = (o: object) => `data: ${JSON.stringify(o).replace(/":/g, '": ').replace(/,"/g, ', "')}\n\n`;
  const frames = [
    spaced({ id: 'chatcmpl-2', choices: [{ index: 0, delta: { content: 'Hi "you"' }, finish_reason: null }] }),
    spaced({ id: 'chatcmpl-2', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
  ];
  const { codec } = run(frames, true);
  assert.equal(codec.outputChars, 'Hi \\"you\\"'.length, 'escapes counted as written');
  assert.equal(codec.complete, true);
  assert.equal(codec.upstreamId, 'chatcmpl-2');
});

test('keys quoted inside a text are text, not keys', () => {
  const tricky = 'say "usage": {"x":1} and "finish_reason": "stop" and {"error": 1}';
  const { codec } = run([chunk(tricky, null)], false);
  assert.equal(codec.outputChars, JSON.stringify(tricky).length - 2);
  assert.equal(codec.complete, false);
  assert.equal(codec.upstreamError, null);
  assert.equal(codec.usage, null);
});

test('an error frame ends the stream as an error', () => {
  const { codec } = run([chunk('a', null), frame({ error: { message: 'overloaded', type: 'server_error' } })], false);
  assert.equal(codec.upstreamError?.message, 'overloaded');
});

test('usage in any spacing is read; of two usage chunks in one burst the later counts', () => {
  const u = (p: number) => frame({ id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: p, completion_tokens: 1, total_tokens: p + 1 } }).replace('"usage":', '"usage" :  ');
  const { out, codec } = run([chunk('x', 'stop') + u(4) + u(7) + 'data: [DONE]\n\n'], false);
  assert.equal(codec.usage?.input, 7);
  assert.deepEqual(out.split('\n\n').filter(Boolean).length, 2, 'both usage-only chunks dropped');
});

test('the "usage":null fields are cut out byte for byte, in frames read one by one or in bursts', () => {
  const plain = (content: string) => frame({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: 'gpt-4', choices: [{ index: 0, delta: { content }, finish_reason: null }] });
  const withUsageNull = (content: string) => plain(content).replace(/}\n\n$/, ',"usage":null}\n\n');
  // in a burst, a long frame follows a cut: the bytes after it are moved by a native copy, not a loop
  const texts = ['a', 'b'.repeat(100), '"quoted" ,"usage":null text'];
  for (const runs of [texts.map(withUsageNull), [texts.map(withUsageNull).join('')]]) {
    const { out, codec } = run(runs, false);
    assert.equal(out, texts.map(plain).join(''));
    assert.equal(codec.outputChars, texts.reduce((n, t) => n + JSON.stringify(t).length - 2, 0));
  }
});

test('a usage-only chunk is dropped whatever the order of its members', () => {
  const usageFirst = frame({ id: 'chatcmpl-1', usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }, object: 'chat.completion.chunk', choices: [] });
  const { out, codec } = run([chunk('x', 'stop') + usageFirst + 'data: [DONE]\n\n'], false);
  assert.equal(codec.usage?.input, 5);
  assert.equal(out, chunk('x', 'stop').replace(',"usage":null', '') + 'data: [DONE]\n\n');
});

test('a usage object that cannot be read leaves the one before it counted', () => {
  const good = frame({ id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 } });
  const bad = 'data: {"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":9,}}\n\n';
  for (const wants of [false, true]) {
    const { codec } = run([chunk('x', 'stop') + good + bad + 'data: [DONE]\n\n'], wants);
    assert.equal(codec.usage?.input, 4);
  }
});
