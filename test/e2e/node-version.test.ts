// Started under a Node older than 24.16, the entry says which Node it needs, in one line, and exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../helpers/gateway.ts';

const run = promisify(execFile);

test('an old Node gets one clear line naming the Node needed', async () => {
  // Pretend to be Node 20 before the entry runs (the machines here ship 20, but CI may not).
  const pretend = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"});Object.defineProperty(process,"version",{value:"v20.20.2"});';
  const r = await run(process.execPath, ['--import', pretend, join(REPO, 'bin/llm-proxy.mjs')], { cwd: REPO }).catch((e) => e);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /needs Node\.js 24\.16 or newer, this is v20\.20\.2/);
});
