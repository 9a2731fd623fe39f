// Frame boundaries in a run of server-sent events, with either line end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameAround, lastFrameEnd, splitFrames } from '../../src/http/sse.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

test('lastFrameEnd: just past the last complete frame, whatever the line ends', () => {
  assert.equal(lastFrameEnd(b('')), 0);
  assert.equal(lastFrameEnd(b('\n')), 0);
  assert.equal(lastFrameEnd(b('data: {"a":1}')), 0, 'no complete frame');
  assert.equal(lastFrameEnd(b('data: {"a":1}\n')), 0, 'one line end is not a frame end');
  assert.equal(lastFrameEnd(b('data: 1\n\n')), 9);
  assert.equal(lastFrameEnd(b('data: 1\r\n\r\n')), 11);
  assert.equal(lastFrameEnd(b('data: 1\n\ndata: 2\n\n')), 18);
  assert.equal(lastFrameEnd(b('data: 1\n\ndata: 2\n')), 9, 'the second frame is not complete');
  assert.equal(lastFrameEnd(b('data: 1\r\n\r\ndata: 2\r\n')), 11);
  assert.equal(lastFrameEnd(b('data: 1\n\ndata: 2\r\n\r\n')), 20, 'line ends mixed');
  assert.equal(lastFrameEnd(b('data: 1\r\n\r\ndata: 2\n\n')), 20);
  assert.equal(lastFrameEnd(b('data: 1\n\ndata: 2\r\n\r')), 9);
  assert.equal(lastFrameEnd(b('\r\n\n')), 3, 'a CR before the blank line belongs to the last line');
});

test('splitFrames and frameAround agree with lastFrameEnd', () => {
  const run = b('data: 1\n\ndata: 2\r\n\r\ndata: 3\n\n');
  assert.deepEqual(splitFrames(run).map((f) => f.toString('latin1')), ['data: 1\n\n', 'data: 2\r\n\r\n', 'data: 3\n\n']);
  assert.deepEqual(frameAround(run, 13), { start: 9, end: 20 });
});
