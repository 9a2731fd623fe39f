// Splicing into the client's bytes: a new model only when the top-level member is found exactly once;
// a new last member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withMember, withModel } from '../../src/providers/raw-body.ts';
import { buildRequest } from '../../src/providers/openai/request.ts';

const splice = (json: string, from: string, to: string) => withModel(Buffer.from(json), from, to)?.toString() ?? null;

test('the model is replaced, every other byte kept', () => {
  assert.equal(splice('{"model":"a","messages":[{"role":"user","content":"hi"}]}', 'a', 'b-2025'), '{"model":"b-2025","messages":[{"role":"user","content":"hi"}]}');
  assert.equal(splice('{ "stream": true,\n  "model" :  "a" }', 'a', 'b'), '{ "stream": true,\n  "model" :  "b" }');
  assert.equal(splice('{"model":"a"}', 'a', 'quote"d'), '{"model":"quote\\"d"}');
});

test('text that only mentions the model, escaped inside a string, is left alone', () => {
  assert.equal(splice('{"messages":[{"content":"say \\"model\\": \\"a\\""}],"model":"a"}', 'a', 'b'), '{"messages":[{"content":"say \\"model\\": \\"a\\""}],"model":"b"}');
});

test('an ambiguous or missing member is left to the caller (null)', () => {
  assert.equal(splice('{"model":"a","tools":[{"input":{"model":"a"}}]}', 'a', 'b'), null);
  assert.equal(splice('{"messages":[]}', 'a', 'b'), null);
  assert.equal(splice('{"model":"\\u0061"}', 'a', 'b'), null);
});

test("Claude Code's real request: same bytes but the model, and still the same JSON otherwise", () => {
  const raw = readFileSync(new URL('../fixtures/anthropic/claude-code-request.json', import.meta.url));
  const body = JSON.parse(raw.toString());
  const out = withModel(raw, body.model, 'claude-opus-4-8-20261101')!;
  assert.deepEqual(JSON.parse(out.toString()), { ...body, model: 'claude-opus-4-8-20261101' });
  assert.equal(out.length, raw.length + 'claude-opus-4-8-20261101'.length - body.model.length);
});

test("an answer's usage is read from its own braces, without parsing the answer", async () => {
  const { usageSlice } = await import('../../src/providers/openai/passthrough.ts');
  const usage = { prompt_tokens: 5, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 2 } };
  const answer = { id: 'c1', choices: [{ message: { content: 'the "usage": {not this} one' } }], usage };
  assert.deepEqual(usageSlice(Buffer.from(JSON.stringify(answer))), usage);
  assert.deepEqual(usageSlice(Buffer.from(JSON.stringify(answer, null, 2))), usage);
  assert.equal(usageSlice(Buffer.from('{"id":"c1","choices":[]}')), null);
  assert.equal(usageSlice(Buffer.from('{"usage": {"prompt_tokens": 5')), null);
  assert.deepEqual(usageSlice(Buffer.from('{"usage":{"note":"a } brace"},"x":1}')), { note: 'a } brace' });
  assert.equal(usageSlice(Buffer.from('{"usage":null,"x":{"prompt_tokens":5}}')), null, 'not the next object when usage is null');
  assert.deepEqual(usageSlice(Buffer.from('{"usage" :\r\n\t{"prompt_tokens":5}}')), { prompt_tokens: 5 });
});

test('a member is added at the end of the object, every other byte kept', () => {
  const add = (json: string) => withMember(Buffer.from(json), 'stream_options', { include_usage: true })?.toString() ?? null;
  assert.equal(add('{"model":"a","stream":true}'), '{"model":"a","stream":true,"stream_options":{"include_usage":true}}');
  assert.equal(add('{ "model": "a",\n  "stream": true\n}\n'), '{ "model": "a",\n  "stream": true\n,"stream_options":{"include_usage":true}}\n');
  assert.equal(add('{}'), '{"stream_options":{"include_usage":true}}');
  assert.equal(add('{"messages":[{"content":"}"}]}'), '{"messages":[{"content":"}"}],"stream_options":{"include_usage":true}}');
  assert.equal(add('[1]'), null);
  assert.equal(add(''), null);
});

test('a stream asks for usage in the client\'s own bytes; other changes serialize the body', () => {
  const d = { provider: 'openai', apiBase: 'https://api.openai.com/v1', apiKey: 'sk-up', organization: null, extraHeaders: {} } as never;
  const plan = (body: Record<string, unknown>, raw = JSON.stringify(body)) =>
    ({ endpoint: 'chat', body: JSON.parse(raw), raw: Buffer.from(raw), headers: {} }) as never;
  const sent = (p: never, model = 'gpt-4o') => {
    const b = buildRequest(p, d, model).body;
    return { text: b.toString(), json: JSON.parse(b.toString()) };
  };
  // spaced as the client wrote it: the bytes are the client's, the member added
  const spaced = '{"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hi"}]}';
  assert.equal(sent(plan({}, spaced)).text, spaced.slice(0, -1) + ',"stream_options":{"include_usage":true}}');
  const renamed = sent(plan({}, spaced), 'gpt-4o-2024-08-06');
  assert.equal(renamed.text, spaced.replace('"gpt-4o"', '"gpt-4o-2024-08-06"').slice(0, -1) + ',"stream_options":{"include_usage":true}}');
  // the client's own stream_options are kept, usage added
  assert.deepEqual(sent(plan({ model: 'gpt-4o', stream: true, stream_options: { include_obfuscation: false }, messages: [] })).json.stream_options, { include_obfuscation: false, include_usage: true });
  assert.deepEqual(sent(plan({ model: 'gpt-4o', stream: true, stream_options: null, messages: [] })).json.stream_options, { include_usage: true });
  // gateway-only fields removed
  const cleaned = sent(plan({ model: 'gpt-4o', stream: true, metadata: { a: 1 }, messages: [] })).json;
  assert.deepEqual(cleaned, { model: 'gpt-4o', stream: true, messages: [], stream_options: { include_usage: true } });
  // no stream: the bytes as sent
  assert.equal(sent(plan({}, '{"model":"gpt-4o","messages":[]}')).text, '{"model":"gpt-4o","messages":[]}');
});
