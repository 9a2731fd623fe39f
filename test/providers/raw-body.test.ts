// Splicing a new model into the client's bytes: only when the top-level member is found exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withModel } from '../../src/providers/raw-body.ts';

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
