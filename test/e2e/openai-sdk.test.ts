// The official openai npm SDK as the client: chat, streaming with and without usage, embeddings,
// model listing, and the error classes it raises for the gateway's errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, MASTER_KEY, startInProcess, type TestGateway } from '../helpers/gateway.ts';

let fake: FakeUpstream;
let gw: TestGateway;
let admin: OpenAI;

before(async () => {
  fake = await startFakeOpenAI({ apiKey: 'sk-upstream' });
  gw = await startInProcess(fakeModels(fake.url, ['gpt-3.5-turbo', 'gpt-4', 'text-embedding-3-small']));
  admin = new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 });
});
after(async () => {
  await gw.close();
  await fake.close();
});

async function virtualKey(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${gw.url}/key/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { key: string }).key;
}

describe('openai SDK', () => {
  test('chat completion, with the usage of the upstream', async () => {
    const r = await admin.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'Hello, how are you?' }] });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.choices[0]!.message.content!, /^Hello!/);
    assert.equal(r.usage!.prompt_tokens, 4);
    assert.equal(r.usage!.completion_tokens, 15);
    const sent = fake.requests.at(-1)!;
    assert.equal(sent.body.model, 'gpt-4');
    assert.equal(sent.headers.authorization, 'Bearer sk-upstream');
  });

  test('raw response carries the LiteLLM headers', async () => {
    const { response } = await admin.chat.completions
      .create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.match(response.headers.get('x-litellm-call-id')!, /^[0-9a-f-]{36}$/);
    assert.ok(response.headers.get('x-litellm-model-id'));
    assert.ok(Number(response.headers.get('x-litellm-overhead-duration-ms')) >= 0);
    assert.equal(response.headers.get('llm_provider-x-request-id')?.startsWith('req_'), true);
  });

  test('streaming without usage: deltas in order, the usage chunk the gateway asked for is dropped', async () => {
    const stream = await admin.chat.completions.create({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content: 'hi there' }] });
    let text = '';
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      assert.equal(c.usage, undefined);
      assert.equal(c.choices.length, 1);
      text += c.choices[0]!.delta.content ?? '';
    }
    assert.equal(text, 'Hello! I am a fake model and I am doing well, thank you for asking.');
    assert.equal(chunks, 1 + 15 + 1);
    assert.deepEqual(fake.requests.at(-1)!.body.stream_options, { include_usage: true });
  });

  test('streaming with usage: the usage chunk reaches the client', async () => {
    const stream = await admin.chat.completions.create({
      model: 'gpt-4',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'one two three' }],
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) if (c.usage) usage = c.usage;
    assert.equal(usage?.prompt_tokens, 3);
    assert.equal(usage?.completion_tokens, 15);
  });

  test('max_tokens is passed on and honoured', async () => {
    const r = await admin.chat.completions.create({ model: 'gpt-4', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0]!.finish_reason, 'length');
    assert.equal(r.usage!.completion_tokens, 3);
  });

  test('embeddings', async () => {
    const r = await admin.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'bye'] });
    assert.equal(r.data.length, 2);
    assert.equal(r.usage.prompt_tokens, 3);
    assert.equal(fake.requests.at(-1)!.path, '/v1/embeddings');
  });

  test('model listing shows only what the key may use', async () => {
    const all = await admin.models.list();
    assert.deepEqual(all.data.map((m) => m.id), ['gpt-3.5-turbo', 'gpt-4', 'text-embedding-3-small']);
    const key = await virtualKey({ models: ['gpt-4'] });
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const mine = await client.models.list();
    assert.deepEqual(mine.data.map((m) => m.id), ['gpt-4']);
  });

  test('AuthenticationError for an unknown key', async () => {
    const client = new OpenAI({ apiKey: 'sk-not-a-real-key-000', baseURL: gw.url, maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.AuthenticationError);
      assert.equal((e.error as { type: string }).type, 'auth_error');
      return true;
    });
  });

  test('PermissionDeniedError for a model outside the key', async () => {
    const key = await virtualKey({ models: ['gpt-4'] });
    const client = new OpenAI({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.PermissionDeniedError);
      assert.equal((e.error as { type: string }).type, 'key_model_access_denied');
      return true;
    });
  });

  test('BadRequestError for an unknown model', async () => {
    await assert.rejects(admin.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.match(e.message, /\/v1\/models/);
      return true;
    });
  });

  test('upstream errors keep their status: RateLimitError with retry-after', async () => {
    await assert.rejects(
      admin.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: '[[status:429]] [[retry-after:7]]' }] }),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.RateLimitError);
        assert.equal(e.headers.get('retry-after'), '7');
        return true;
      },
    );
  });
});
