// The journal's lines: what is appended reads back the same, segments written by earlier versions
// (one JSON object a line) still replay, and a line this version cannot read is never guessed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Journal, readSegment, recordLine } from '../../src/metering/journal.ts';
import { spendRecord } from '../helpers/records.ts';
import { tempDir } from '../helpers/temp.ts';

const RECORDS = [
  spendRecord('a'),
  spendRecord('b', {
    upstream_id: 'chatcmpl-1', key_token: null, user_id: 'u "quoted"', team_id: 't', end_user: 'customer-é', status: 'error',
    http_status: 502, error_type: 'api_connection_error', stream: true, latency_ms: 12.345, ttft_ms: 3.5, tags: ['x', 'y'],
    usage: { input: 10, cacheRead: 2, cacheWrite: 3, cacheWrite1h: 4, output: 5, reasoning: 1, estimated: true }, cost_nanos: 123_456_789_012,
    budget_model: 'gpt-4',
  }),
  spendRecord('hit', { cost_nanos: 0, cache_hit: true }),
];

test('records appended to the journal read back as they were', async () => {
  const dir = tempDir('journal-lines');
  const journal = new Journal(dir);
  await Promise.all(RECORDS.map((r) => journal.append(r)));
  const [segment] = await journal.rotate();
  assert.deepEqual(readSegment(journal.path(segment!)), RECORDS);
  journal.close();
});

test('a segment of object lines (earlier versions) replays; a line cut by a crash is skipped', () => {
  const file = join(tempDir('journal-old'), 'spend-0000000000000001.ndjson');
  writeFileSync(file, `${RECORDS.map((r) => JSON.stringify(r)).join('\n')}\n${recordLine(spendRecord('c')).slice(0, 40)}`);
  assert.deepEqual(readSegment(file), RECORDS);
});

test('a line of a format this version does not know fails the segment (it stays queued)', () => {
  const file = join(tempDir('journal-new'), 'spend-0000000000000001.ndjson');
  writeFileSync(file, `${recordLine(RECORDS[0]!)}${recordLine(RECORDS[1]!).replace('[1,', '[2,')}`);
  assert.throws(() => readSegment(file), /unknown format 2/);
});
