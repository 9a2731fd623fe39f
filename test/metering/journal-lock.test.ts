// One process per journal directory: a second gateway on the same journal is refused at start with a
// message saying why; a lock left by a process that is gone is taken over (at once on this host, once
// stale from another).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JournalLocked, lockJournal } from '../../src/metering/journal-lock.ts';
import { MASTER_KEY, REPO, spawnGateway } from '../helpers/gateway.ts';
import { freshPostgresUrl, POSTGRES } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp.ts';

/** Another process holding the lock of `dir` until it is killed. */
async function holderProcess(dir: string) {
  const code = `import { lockJournal } from ${JSON.stringify(join(REPO, 'src/metering/journal-lock.ts'))}; await lockJournal(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => p.stdout!.on('data', (c) => String(c).includes('locked') && resolve()));
  return p;
}

test('a journal locked by a live process on this host is refused; once it is killed, taken over at once', async () => {
  const dir = tempDir('journal-lock');
  const other = await holderProcess(dir);
  try {
    await assert.rejects(lockJournal(dir), (err: Error) => err instanceof JournalLocked && err.message.includes(`pid ${other.pid}`) && /each instance needs its own/.test(err.message));
  } finally {
    other.kill('SIGKILL');
    await new Promise((r) => other.once('exit', r));
  }
  const release = await lockJournal(dir);
  assert.ok(existsSync(join(dir, 'journal.lock')));
  release();
  assert.ok(!existsSync(join(dir, 'journal.lock')), 'given back at close');
});

test('a lock from another host is waited for while it is touched, and taken once it is stale', async () => {
  const dir = tempDir('journal-lock');
  const file = join(dir, 'journal.lock');
  writeFileSync(file, JSON.stringify({ pid: 4242, host: 'another-host' }));
  await assert.rejects(lockJournal(dir, 600), /in use by another llm-proxy \(pid 4242 on another-host\)/);
  const old = new Date(Date.now() - 60_000);
  utimesSync(file, old, old);
  const release = await lockJournal(dir, 600);
  release();
});

test('a second gateway started from the same directory on PostgreSQL (one ./data/journal) is refused', { skip: POSTGRES ? false : 'TEST_POSTGRES_URL is not set' }, async () => {
  const cwd = tempDir('two-on-one-journal');
  const env = { LITELLM_MASTER_KEY: MASTER_KEY, DATABASE_URL: await freshPostgresUrl() };
  const first = await spawnGateway({ cwd, args: ['--port', '0', '--host', '127.0.0.1'], env });
  try {
    await assert.rejects(spawnGateway({ cwd, args: ['--port', '0', '--host', '127.0.0.1'], env }), /exited with 1:[\s\S]*the spend journal .*data\/journal is in use by another llm-proxy \(pid \d+/);
  } finally {
    assert.equal(await first.stop(), 0);
  }
  // Its lock given back with a clean stop: the next one starts.
  const again = await spawnGateway({ cwd, args: ['--port', '0', '--host', '127.0.0.1'], env });
  assert.equal(await again.stop(), 0);
});
