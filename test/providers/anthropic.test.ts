// Translation case by case: OpenAI chat requests into the Messages API, Anthropic answers (fixtures in
// the documented wire format) into OpenAI completions and chunks, and OpenAI answers into Anthropic's.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chatRequestToAnthropic, thinksAdaptively } from '../../src/providers/anthropic/request.ts';
import { AnthropicToChatStream, anthropicAnswerToChat } from '../../src/providers/anthropic/response.ts';
import { fromAnthropic } from '../../src/metering/usage.ts';
import { ChatToAnthropicStream, chatAnswerToAnthropic } from '../../src/dialects/chat-to-anthropic.ts';
import { fixture } from '../fakes/anthropic-upstream.ts';
import type { UpstreamRequest } from '../../src/providers/adapter.ts';

const M = 'claude-sonnet-4-5-20250929';
const up = (clientWantsUsage = false): UpstreamRequest => ({ url: '', headers: {}, body: '', clientWantsUsage });

/** Data payloads of an OpenAI SSE text. */
const chunks = (sse: string) =>
  sse
    .split('\n\n')
    .filter((f) => f.startsWith('data: ') && f !== 'data: [DONE]')
    .map((f) => JSON.parse(f.slice(6)));

describe('OpenAI chat request to Anthropic', () => {
  test('system and developer messages become the system blocks; consecutive turns merge; tool results follow their calls', () => {
    const out = chatRequestToAnthropic(
      {
        model: 'x',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'developer', content: [{ type: 'text', text: 'Use tools.', cache_control: { type: 'ephemeral' } }] },
          { role: 'user', content: 'Read two files.' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'read', arguments: '{"path":"a"}' } },
              { id: 'call_2', type: 'function', function: { name: 'read', arguments: '{"path":"b"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'A' },
          { role: 'tool', tool_call_id: 'call_2', content: 'B' },
          { role: 'user', content: [{ type: 'text', text: 'And now?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
        ],
      },
      M,
      false,
    );
    assert.deepEqual(out.system, [{ type: 'text', text: 'You are terse.' }, { type: 'text', text: 'Use tools.', cache_control: { type: 'ephemeral' } }]);
    assert.equal(out.max_tokens, 4096);
    assert.deepEqual(out.messages, [
      { role: 'user', content: [{ type: 'text', text: 'Read two files.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'read', input: { path: 'a' } },
          { type: 'tool_use', id: 'call_2', name: 'read', input: { path: 'b' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'A' },
          { type: 'tool_result', tool_use_id: 'call_2', content: 'B' },
          { type: 'text', text: 'And now?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        ],
      },
    ]);
  });

  test('tools, tool_choice, parallel_tool_calls, stop, user and max_completion_tokens', () => {
    const out = chatRequestToAnthropic(
      {
        model: 'x',
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false,
        stop: 'END',
        user: 'customer-1',
        max_completion_tokens: 300,
        temperature: 0.2,
      },
      M,
      false,
    );
    assert.deepEqual(out.tools, [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]);
    assert.deepEqual(out.tool_choice, { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true });
    assert.deepEqual(out.stop_sequences, ['END']);
    assert.deepEqual(out.metadata, { user_id: 'customer-1' });
    assert.equal(out.max_tokens, 300);
    assert.equal(out.temperature, 0.2);
    assert.deepEqual(chatRequestToAnthropic({ messages: [], tool_choice: 'required' }, M, false).tool_choice, { type: 'any' });
  });

  test('thinking blocks sent back go first in the assistant turn, byte for byte', () => {
    const block = { type: 'thinking', thinking: 'Let me see.', signature: 'EqQBCkYIBRgCIkB+/=' };
    const out = chatRequestToAnthropic(
      { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a', thinking_blocks: [block, { type: 'redacted_thinking', data: 'EmwKAhgB' }] }, { role: 'user', content: 'q2' }] },
      M,
      false,
    );
    const turn = (out.messages as any[])[1];
    assert.deepEqual(turn.content, [block, { type: 'redacted_thinking', data: 'EmwKAhgB' }, { type: 'text', text: 'a' }]);
  });

  test('reasoning_effort: a thinking budget before Claude 4.6, adaptive thinking with an effort from 4.6 on', () => {
    const old = chatRequestToAnthropic({ messages: [], reasoning_effort: 'medium' }, M, false);
    assert.deepEqual(old.thinking, { type: 'enabled', budget_tokens: 2048 });
    assert.equal(old.max_tokens, 2048 + 4096);
    const capped = chatRequestToAnthropic({ messages: [], reasoning_effort: 'high', max_tokens: 3000 }, M, false);
    assert.deepEqual(capped.thinking, { type: 'enabled', budget_tokens: 2999 });
    assert.equal(capped.max_tokens, 3000);
    const adaptive = chatRequestToAnthropic({ messages: [], reasoning_effort: 'high' }, 'claude-opus-4-7', false);
    assert.deepEqual(adaptive.thinking, { type: 'adaptive' });
    assert.deepEqual(adaptive.output_config, { effort: 'high' });
    assert.equal(thinksAdaptively('claude-sonnet-4-6'), true);
    assert.equal(thinksAdaptively('claude-sonnet-4-5-20250929'), false);
    assert.equal(thinksAdaptively('claude-3-7-sonnet-20250219'), false);
    assert.equal(chatRequestToAnthropic({ messages: [], reasoning_effort: 'none' }, M, false).thinking, undefined);
  });

  test('response_format json_schema becomes native structured output; json_object is refused unless drop_params', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
    const out = chatRequestToAnthropic({ messages: [], response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }, M, false);
    assert.deepEqual(out.output_config, { format: { type: 'json_schema', schema } });
    assert.throws(() => chatRequestToAnthropic({ messages: [], response_format: { type: 'json_object' } }, M, false), (e: any) => e.status === 400 && e.param === 'response_format' && /drop_params/.test(e.message));
    assert.equal(chatRequestToAnthropic({ messages: [], response_format: { type: 'json_object' } }, M, true).output_config, undefined);
  });

  test('thinking_blocks must be thinking blocks', () => {
    for (const blocks of [[null], [1], 'x', [{ type: 'text', text: 'a' }]]) {
      assert.throws(() => chatRequestToAnthropic({ messages: [{ role: 'assistant', content: 'a', thinking_blocks: blocks }] }, M, false), (e: any) => e.status === 400 && /thinking_blocks/.test(e.param));
    }
  });

  test('parameters without an Anthropic counterpart are refused with the field named, or dropped with drop_params', () => {
    for (const [field, value] of [['n', 2], ['logprobs', true], ['seed', 7], ['frequency_penalty', 0.5]] as const) {
      assert.throws(() => chatRequestToAnthropic({ messages: [], [field]: value }, M, false), (e: any) => e.status === 400 && e.param === field);
      assert.equal(chatRequestToAnthropic({ messages: [], [field]: value }, M, true)[field], undefined);
    }
    assert.throws(
      () => chatRequestToAnthropic({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{oops' } }] }] }, M, false),
      (e: any) => e.param === 'messages[0].tool_calls[0].function.arguments',
    );
    assert.throws(() => chatRequestToAnthropic({ messages: [{ role: 'function', content: 'x' }] }, M, false), (e: any) => e.param === 'messages[0].role');
  });
});

describe('Anthropic answers to OpenAI', () => {
  test('text: content, finish reason, usage in OpenAI convention', () => {
    const t = anthropicAnswerToChat(Buffer.from(fixture('message-text.json')));
    const c = JSON.parse(String(t.body));
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.equal(typeof c.choices[0].message.content, 'string');
    assert.equal(t.upstreamId, c.id);
    assert.equal(c.usage.prompt_tokens, t.usage!.input + t.usage!.cacheRead + t.usage!.cacheWrite + t.usage!.cacheWrite1h);
  });

  test('tool use: tool calls with their ids and JSON arguments, finish reason tool_calls', () => {
    const src = JSON.parse(fixture('message-tool-use.json'));
    const c = JSON.parse(String(anthropicAnswerToChat(Buffer.from(JSON.stringify(src))).body));
    const uses = src.content.filter((b: any) => b.type === 'tool_use');
    assert.equal(c.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(
      c.choices[0].message.tool_calls.map((t: any) => [t.id, t.function.name, JSON.parse(t.function.arguments)]),
      uses.map((u: any) => [u.id, u.name, u.input]),
    );
  });

  test('thinking: reasoning_content, and the blocks with their signatures', () => {
    const src = JSON.parse(fixture('message-thinking.json'));
    const c = JSON.parse(String(anthropicAnswerToChat(Buffer.from(JSON.stringify(src))).body));
    const thinking = src.content.find((b: any) => b.type === 'thinking');
    assert.equal(c.choices[0].message.reasoning_content, thinking.thinking);
    assert.deepEqual(c.choices[0].message.thinking_blocks[0], thinking);
  });

  test('cache usage: reads, 5-minute and 1-hour writes kept apart', () => {
    const src = JSON.parse(fixture('message-cache-usage.json'));
    const u = fromAnthropic(src.usage);
    assert.deepEqual(
      [u.input, u.cacheRead, u.cacheWrite, u.cacheWrite1h, u.output],
      [src.usage.input_tokens, src.usage.cache_read_input_tokens, src.usage.cache_creation.ephemeral_5m_input_tokens, src.usage.cache_creation.ephemeral_1h_input_tokens, src.usage.output_tokens],
    );
    // Without the split, every write is a 5-minute one.
    assert.equal(fromAnthropic({ input_tokens: 1, cache_creation_input_tokens: 9, output_tokens: 1 }).cacheWrite, 9);
  });

  test('a tool-use stream: one tool call per tool_use block, indices counted among tools, arguments reassembled', () => {
    const codec = new AnthropicToChatStream(up(true));
    const out = chunks(String(codec.push(Buffer.from(fixture('stream-tool-use.sse')))) + String(codec.finish()));
    const calls = new Map<number, { id: string; name: string; args: string }>();
    for (const c of out) {
      for (const t of c.choices[0]?.delta.tool_calls ?? []) {
        const cur = calls.get(t.index) ?? { id: '', name: '', args: '' };
        if (t.id) cur.id = t.id;
        if (t.function?.name) cur.name = t.function.name;
        cur.args += t.function?.arguments ?? '';
        calls.set(t.index, cur);
      }
    }
    const uses = fixture('stream-tool-use.sse').match(/"content_block":\{"type":"tool_use","id":"[^"]+"/g)!;
    assert.deepEqual([...calls.keys()], [0, 1]);
    assert.equal(uses.length, 2);
    for (const c of calls.values()) JSON.parse(c.args);
    assert.equal(out.at(-2).choices[0].finish_reason, 'tool_calls');
    assert.equal(out.at(-1).choices.length, 0);
    assert.ok(out.at(-1).usage.completion_tokens > 0);
    assert.equal(codec.complete, true);
    assert.equal(codec.usage!.output, out.at(-1).usage.completion_tokens);
  });

  test('a thinking stream: reasoning deltas, then the whole block with its signature', () => {
    const codec = new AnthropicToChatStream(up());
    const out = chunks(String(codec.push(Buffer.from(fixture('stream-thinking.sse')))) + String(codec.finish()));
    const reasoning = out.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('');
    const block = out.find((c) => c.choices[0]?.delta.thinking_blocks)!.choices[0].delta.thinking_blocks[0];
    assert.equal(block.thinking, reasoning);
    assert.match(block.signature, /^[A-Za-z0-9+/=]{100,}$/);
    assert.ok(fixture('stream-thinking.sse').includes(`"signature":"${block.signature}"`));
  });

  test('an error event midway becomes an OpenAI error frame and no [DONE]', () => {
    const codec = new AnthropicToChatStream(up());
    const text = String(codec.push(Buffer.from(fixture('stream-error-midway.sse'))));
    assert.equal(codec.upstreamError?.type, 'overloaded_error');
    assert.equal(codec.upstreamError?.status, 529);
    assert.match(text, /data: \{"error":\{"message":"anthropic error: Overloaded","type":"overloaded_error"/);
    assert.equal(codec.complete, false);
    assert.equal(codec.finish(), '');
  });
});

describe('OpenAI answers to Anthropic', () => {
  /** Events of an Anthropic SSE text, as [type, data]. */
  const events = (sse: string) =>
    sse
      .split('\n\n')
      .filter(Boolean)
      .map((f) => {
        const [ev, data] = f.split('\n');
        return [ev!.slice(7), JSON.parse(data!.slice(6))] as const;
      });
  const run = (chunks: unknown[]) => {
    const codec = new ChatToAnthropicStream();
    const sse = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
    return events(String(codec.push(Buffer.from(sse))) + codec.finish());
  };
  const chunk = (delta: unknown, finish: string | null = null) => ({ id: 'c1', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });

  test('interleaved arguments of parallel tool calls still make a valid sequence, one whole block per call', () => {
    const out = run([
      chunk({ role: 'assistant', content: 'Reading.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'read', arguments: '{"pa' } }, { index: 1, id: 'call_b', type: 'function', function: { name: 'read', arguments: '{"path"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'th":"a"}' } }, { index: 1, function: { arguments: ':"b"}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    const open = new Set<number>();
    const closed = new Set<number>();
    for (const [type, data] of out) {
      if (type === 'content_block_start') {
        assert.equal(open.size, 0, 'one block at a time');
        open.add(data.index);
      } else if (type === 'content_block_delta') assert.ok(open.has(data.index) && !closed.has(data.index));
      else if (type === 'content_block_stop') {
        open.delete(data.index);
        closed.add(data.index);
      }
    }
    const tools = out.filter(([t, d]) => t === 'content_block_start' && d.content_block.type === 'tool_use').map(([, d]) => d);
    const args = out.filter(([t, d]) => t === 'content_block_delta' && d.delta.type === 'input_json_delta').map(([, d]) => JSON.parse(d.delta.partial_json));
    assert.deepEqual(tools.map((d) => d.content_block.id), ['call_a', 'call_b']);
    assert.deepEqual(args, [{ path: 'a' }, { path: 'b' }]);
    assert.deepEqual(out.map(([t]) => t).slice(-2), ['message_delta', 'message_stop']);
    assert.equal(out.at(-2)![1].delta.stop_reason, 'tool_use');
  });

  test('a refusal comes back as text with stop_reason refusal', () => {
    const body = { id: 'c', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' }, finish_reason: 'stop' }] };
    const msg = JSON.parse(String(chatAnswerToAnthropic(Buffer.from(JSON.stringify(body))).body));
    assert.deepEqual(msg.content, [{ type: 'text', text: 'I cannot help with that.' }]);
    assert.equal(msg.stop_reason, 'refusal');
  });
});
