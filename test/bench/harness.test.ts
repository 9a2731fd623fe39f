// The benchmark harness starts every process, runs a scenario and writes its result file.
// (Timings are never asserted: they belong to `npm run bench`, not to the test suite.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

const run = promisify(execFile);

test('npm run bench -- --quick --scenario latency (no LiteLLM: it installs from PyPI) writes a result with the machine description', async () => {
  const out = tempDir('bench-out');
  await run(process.execPath, ['bench/run.ts', '--quick', '--scenario', 'latency', '--no-litellm', '--out', out], { cwd: REPO, timeout: 120_000 });
  const files = readdirSync(out);
  assert.equal(files.length, 1);
  const result = JSON.parse(readFileSync(join(out, files[0]!), 'utf8'));
  assert.equal(result.machine.cores > 0, true);
  assert.match(result.machine.node, /^v24\./);
  const names = result.scenarios.latency.rows.map((r: { target: string }) => r.target);
  assert.deepEqual(names, ['bare proxy', 'llm-proxy (features off)', 'llm-proxy (features on)', 'portkey']);
});
