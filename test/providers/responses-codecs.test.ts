// The Responses API's stream codecs on crafted input: parallel tool calls whose arguments interleave
// keep every piece, OpenAI's frames after response.completed wait behind it, and the chat passthrough
// meter counts a completion's `text` only in completions streams; streamed refusals are refusal events
// and parts; the item an answer was cut in is incomplete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatToResponsesEvents } from '../../src/dialects/chat-to-responses.ts';
import { ResponsesPassthroughStream } from '../../src/providers/openai/responses.ts';
import { openaiPassthrough } from '../../src/providers/openai/passthrough.ts';

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

test('parallel tool calls with interleaved arguments: each call keeps all of its own', () => {
  const ev = new ChatToResponsesEvents({ model: 'm' }, new Set(), 'resp_x');
  let out = ev.push(
    chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '{"x"' } }] }) +
      chunk({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'b', arguments: '{"y"' } }] }) +
      chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }) +
      chunk({ tool_calls: [{ index: 1, function: { arguments: ':2}' } }] }, 'tool_calls'),
  );
  out += ev.completed(null);
  const done = ev.final!.output as any[];
  assert.deepEqual(done.map((o) => [o.call_id, o.arguments]), [['call_a', '{"x":1}'], ['call_b', '{"y":2}']]);
  const events = out.split('\n\n').filter(Boolean).map((f) => JSON.parse(f.split('\ndata: ')[1]!));
  events.forEach((e, i) => assert.equal(e.sequence_number, i));
  assert.equal(events.filter((e) => e.type === 'response.output_item.done').length, 2);
});

test("OpenAI's frames after response.completed wait behind it (a [DONE] never overtakes it)", () => {
  const c = new ResponsesPassthroughStream();
  const completed = `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', sequence_number: 3, response: { id: 'resp_1', usage: { input_tokens: 1, output_tokens: 2 } } })}\n\n`;
  const out = c.push(Buffer.from(`event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":2,"delta":"hi"}\n\n${completed}data: [DONE]\n\n`));
  assert.doesNotMatch(out.toString(), /DONE|response\.completed/);
  assert.equal(c.push(Buffer.from('data: [DONE]\n\n')).length, 0);
  assert.match(c.finish().toString(), /response\.completed[\s\S]*\[DONE\][\s\S]*\[DONE\]/);
  assert.deepEqual([c.complete, c.usage?.output, c.outputChars], [true, 2, 2]);
  assert.match(c.errorFrame!(new (class extends Error { type = 'budget_exceeded'; param = null; status = 429; code = '429' })('no') as any), /"sequence_number":4[\s\S]*"sequence_number":5/);
});

test("the chat meter counts `text` in completions streams only (OpenRouter repeats reasoning in reasoning_details[].text)", () => {
  const frame = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { reasoning: 'abcd', reasoning_details: [{ type: 'reasoning.text', text: 'abcd' }] } }] })}\n\n`;
  const chat = openaiPassthrough.stream({ url: '', headers: {}, body: '', clientWantsUsage: true });
  chat.push(Buffer.from(frame));
  assert.equal(chat.outputChars, 4);
  const text = `data: ${JSON.stringify({ choices: [{ text: 'hello', index: 0 }] })}\n\n`;
  const completions = openaiPassthrough.stream({ url: '', headers: {}, body: '', clientWantsUsage: true, completions: true });
  completions.push(Buffer.from(text));
  assert.equal(completions.outputChars, 5);
});

const events = (out: string) => out.split('\n\n').filter(Boolean).map((f) => JSON.parse(f.split('\ndata: ')[1]!));

test('a streamed refusal is a message with a refusal part, its deltas response.refusal.delta', () => {
  const ev = new ChatToResponsesEvents({ model: 'm' }, new Set(), 'resp_r');
  const out = ev.push(chunk({ role: 'assistant', refusal: "I can't" }) + chunk({ refusal: ' help.' }, 'stop')) + ev.completed(null);
  const types = events(out).map((e) => e.type);
  assert.deepEqual(types, [
    'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
    'response.refusal.delta', 'response.refusal.delta', 'response.refusal.done', 'response.content_part.done',
    'response.output_item.done', 'response.completed',
  ]);
  assert.deepEqual(events(out)[3].part, { type: 'refusal', refusal: '' });
  assert.deepEqual(ev.final!.output, [{ type: 'message', id: (ev.final!.output as any[])[0].id, status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: "I can't help." }] }]);
  assert.equal(ev.outputChars, 13);
});

test('an answer cut by max tokens: response.incomplete, its last item incomplete and the earlier ones completed', () => {
  const ev = new ChatToResponsesEvents({ model: 'm' }, new Set(), 'resp_i');
  const out = ev.push(chunk({ reasoning_content: 'hmm' }) + chunk({ content: 'The answer is' }, 'length')) + ev.completed(null);
  const last = events(out).at(-1);
  assert.equal(last.type, 'response.incomplete');
  assert.deepEqual(last.response.incomplete_details, { reason: 'max_output_tokens' });
  assert.deepEqual(last.response.output.map((o: any) => [o.type, o.status]), [['reasoning', undefined], ['message', 'incomplete']]);
  const done = events(out).filter((e) => e.type === 'response.output_item.done');
  assert.equal(done.at(-1).item.status, 'incomplete');
});
