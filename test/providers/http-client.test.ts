// `send`: an upstream answer read without a stream, whole or chunk by chunk, read late, cut, aborted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { Abort } from '../../src/pipeline/abort.ts';
import { send } from '../../src/providers/http-client.ts';
import { startRawUpstream } from '../helpers/upstream.ts';

const post = (base: string) => ({ origin: base, path: '/', method: 'POST' as const, body: '{}' });

test('an answer larger than what may wait unread arrives whole when it is read late', async () => {
  const big = Buffer.alloc(1024 * 1024, 'x');
  const up = await startRawUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    // in pieces, so that the socket is read many times before anyone reads the body
    for (let i = 0; i < big.length; i += 16 * 1024) res.write(big.subarray(i, i + 16 * 1024));
    res.end();
  });
  const agent = new Agent();
  try {
    const res = await send(agent, post(up.base), new Abort());
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/plain');
    await sleep(100);
    assert.deepEqual(await res.body.bytes(), big);
  } finally {
    await agent.close();
    await up.close();
  }
});

test('chunks reach the reader as they arrive; pause holds them back until resume', async () => {
  const up = await startRawUpstream((_req, res) => {
    res.writeHead(200);
    let n = 0;
    const timer = setInterval(() => {
      res.write(`chunk ${n}\n`);
      if (++n === 5) {
        clearInterval(timer);
        res.end();
      }
    }, 10);
  });
  const agent = new Agent();
  try {
    const res = await send(agent, post(up.base), new Abort());
    const seen: string[] = [];
    let paused = false;
    let whilePaused = 0;
    await new Promise<void>((resolve, reject) => {
      res.body.read({
        data: (chunk) => {
          if (paused) whilePaused++;
          seen.push(chunk.toString());
          if (seen.length === 2) {
            res.body.pause();
            paused = true;
            // the upstream writes every 10 ms: three more chunks would come in this time
            setTimeout(() => {
              paused = false;
              res.body.resume();
            }, 60);
          }
        },
        end: resolve,
        error: reject,
      });
    });
    assert.equal(whilePaused, 0);
    assert.equal(seen.join(''), [0, 1, 2, 3, 4].map((n) => `chunk ${n}\n`).join(''));
  } finally {
    await agent.close();
    await up.close();
  }
});

test("an abort before the answer's head rejects with its reason; during the body, the reader gets it", async () => {
  const up = await startRawUpstream((req, res) => {
    if (req.url === '/late') return void setTimeout(() => res.end('{}'), 5_000);
    res.writeHead(200);
    res.write('first');
  });
  const agent = new Agent();
  try {
    const early = new Abort();
    const pending = send(agent, { ...post(up.base), path: '/late' }, early);
    setTimeout(() => early.abort(new Error('client gone')), 50);
    await assert.rejects(pending, /client gone/);

    const during = new Abort();
    const res = await send(agent, post(up.base), during);
    const failed = new Promise((resolve) => res.body.read({ data: () => during.abort(new Error('deadline')), end: () => resolve('ended'), error: resolve }));
    assert.match(String(await failed), /deadline/);
  } finally {
    await agent.close();
    await up.close();
  }
});

test('an answer cut before its end fails its reader; destroy ends a call nobody reads', async () => {
  const up = await startRawUpstream((req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('only part of it');
    if (req.url === '/cut') setTimeout(() => res.destroy(), 20);
  });
  const agent = new Agent();
  try {
    const cut = await send(agent, { ...post(up.base), path: '/cut' }, new Abort());
    await assert.rejects(cut.body.bytes());

    const unread = await send(agent, post(up.base), new Abort());
    unread.body.destroy();
    assert.equal(unread.body.destroyed, true);
    await assert.rejects(unread.body.bytes(), /not read to its end/);
  } finally {
    await agent.close();
    await up.close();
  }
});
