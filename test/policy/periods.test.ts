// Budget periods on a fake clock: daily, weekly and monthly ones end at midnight in the configured
// time zone (LiteLLM's litellm_settings.timezone), daylight saving time included, never early; other
// durations roll. And the reset job starts each key's, user's and team's next period on time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { KeyCache, RecordCache } from '../../src/auth/key-cache.ts';
import { loadConfig } from '../../src/config/load.ts';
import { budgetPeriods, resetDueBudgets } from '../../src/policy/budget-reset.ts';
import { MemoryLimiter } from '../../src/policy/limiter.ts';
import { nextReset } from '../../src/policy/periods.ts';
import { KeyRepo } from '../../src/store/keys.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { TeamRepo } from '../../src/store/teams.ts';
import { UserRepo } from '../../src/store/users.ts';
import { writeConfig } from '../helpers/gateway.ts';

const at = (d: string, from: string, tz = 'UTC') => nextReset(d, new Date(from), tz).toISOString();

test('daily, weekly and monthly periods end at the next midnight, Monday, 1st, in UTC by default', () => {
  assert.equal(at('1d', '2026-03-10T15:30:00Z'), '2026-03-11T00:00:00.000Z');
  assert.equal(at('24h', '2026-03-10T15:30:00Z'), '2026-03-11T00:00:00.000Z');
  assert.equal(at('1d', '2026-03-11T00:00:00Z'), '2026-03-12T00:00:00.000Z', 'from a midnight: the next one');
  assert.equal(at('7d', '2026-03-11T10:00:00Z'), '2026-03-16T00:00:00.000Z', 'a Wednesday: the next Monday');
  assert.equal(at('1w', '2026-03-15T23:00:00Z'), '2026-03-16T00:00:00.000Z', 'a Sunday night: the next morning');
  assert.equal(at('7d', '2026-03-16T00:00:00Z'), '2026-03-23T00:00:00.000Z', 'a Monday midnight: a whole week');
  assert.equal(at('1mo', '2026-01-31T12:00:00Z'), '2026-02-01T00:00:00.000Z');
  assert.equal(at('30d', '2026-12-15T08:00:00Z'), '2027-01-01T00:00:00.000Z');
});

test('other durations roll from the start', () => {
  assert.equal(at('30s', '2026-03-10T15:30:10Z'), '2026-03-10T15:30:40.000Z');
  assert.equal(at('2h', '2026-03-10T15:30:00Z'), '2026-03-10T17:30:00.000Z');
  assert.equal(at('14d', '2026-03-10T15:30:00Z'), '2026-03-24T15:30:00.000Z');
  assert.equal(at('2mo', '2026-01-15T00:00:00Z'), '2026-03-15T00:00:00.000Z');
});

test('midnight in the configured time zone, as its clocks change', () => {
  // New York: EST (-5) until 2 a.m. on 8 March 2026, EDT (-4) after.
  assert.equal(at('1d', '2026-03-07T12:00:00Z', 'America/New_York'), '2026-03-08T05:00:00.000Z');
  assert.equal(at('1d', '2026-03-08T05:00:00Z', 'America/New_York'), '2026-03-09T04:00:00.000Z');
  // Paris: back to CET (+1) on 25 October.
  assert.equal(at('1d', '2026-10-31T12:00:00Z', 'Europe/Paris'), '2026-10-31T23:00:00.000Z');
  // Kolkata (+5:30): already February there, so the period ends on 1 March.
  assert.equal(at('1mo', '2026-01-31T20:00:00Z', 'Asia/Kolkata'), '2026-02-28T18:30:00.000Z');
  assert.equal(at('7d', '2026-03-11T10:00:00Z', 'Asia/Tokyo'), '2026-03-15T15:00:00.000Z');
  // Santiago skips its midnight on 6 September 2026 (00:00 becomes 01:00): the first instant after.
  assert.equal(at('1d', '2026-09-05T12:00:00Z', 'America/Santiago'), '2026-09-06T04:00:00.000Z');
});

test('never early: every period ends after it starts, on a midnight of the zone', () => {
  const zones = ['UTC', 'America/New_York', 'Europe/Paris', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Santiago'];
  for (let i = 0; i < 2000; i++) {
    const from = new Date(Date.UTC(2026, 0, 1) + Math.floor(Math.random() * 730 * 86_400_000));
    const tz = zones[i % zones.length]!;
    for (const d of ['1d', '7d', '1mo']) {
      const end = nextReset(d, from, tz);
      assert.ok(end > from, `${d} ${tz} from ${from.toISOString()}: ${end.toISOString()}`);
      const local = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', hour: 'numeric', minute: 'numeric' }).format(end);
      assert.ok(local === '00:00' || local === '01:00', `${d} ${tz} from ${from.toISOString()} ends at ${local} local`);
      if (d === '1d') assert.ok(end.getTime() - from.getTime() <= 26 * 3_600_000);
    }
  }
});

test('the reset job starts the next period of keys, users and teams when theirs ends, not before', async () => {
  const db = openSqlite(':memory:');
  await db.migrate();
  const keys = new KeyRepo(db);
  const users = new UserRepo(db);
  const teams = new TeamRepo(db);
  const limiter = new MemoryLimiter();
  const keyCache = new KeyCache(keys);
  const userCache = new RecordCache('user', (id) => users.get(id));
  const teamCache = new RecordCache('team', (id) => teams.get(id));
  const periods = [
    budgetPeriods({ repo: keys, cache: keyCache, idOf: (k) => k.token, scopeOf: (t) => t }),
    budgetPeriods({ repo: users, cache: userCache, idOf: (u) => u.user_id, scopeOf: (id) => `user:${id}` }),
    budgetPeriods({ repo: teams, cache: teamCache, idOf: (t) => t.team_id, scopeOf: (id) => `team:${id}` }),
  ];
  // Periods of a day, a week and a month in Paris, all ending at the same local midnight (1 June 2026, a Monday).
  const end = '2026-05-31T22:00:00.000Z';
  const stamp = { created_at: end, updated_at: end, created_by: 'x', updated_by: 'x' };
  const period = (d: string) => ({ spend_nanos: 700, max_budget_nanos: 1000, soft_budget_nanos: null, budget_duration: d, budget_reset_at: end, budget_period_start: null });
  await db.run(
    `INSERT INTO llmproxy_keys (token, key_name, spend_nanos, max_budget_nanos, budget_duration, budget_reset_at, created_at, updated_at) VALUES ('k1', 'sk-...k1', 700, 1000, '1d', ?, ?, ?)`,
    [end, end, end],
  );
  await users.insert({ user_id: 'u1', user_email: null, user_alias: null, user_role: 'internal_user', models: [], metadata: {}, ...period('7d'), tpm_limit: null, rpm_limit: null, max_parallel_requests: null, model_max_budget: null, password_hash: null, extra: {}, ...stamp });
  await teams.insert({ team_id: 't1', team_alias: null, organization_id: null, models: [], metadata: {}, ...period('1mo'), tpm_limit: null, rpm_limit: null, max_parallel_requests: null, model_max_budget: null, blocked: false, extra: {}, ...stamp });
  for (const scope of ['k1', 'user:u1', 'team:t1']) limiter.addSpend(scope, 50);

  assert.equal(await resetDueBudgets(periods, limiter, 'Europe/Paris', new Date(Date.parse(end) - 1)), 0, 'a millisecond early: nothing');
  assert.equal(limiter.pending('team:t1'), 50);
  assert.equal(await resetDueBudgets(periods, limiter, 'Europe/Paris', new Date(Date.parse(end) + 1500)), 3);
  assert.equal(await resetDueBudgets(periods, limiter, 'Europe/Paris', new Date(Date.parse(end) + 1500)), 0, 'once');
  const [k, u, t] = [await keys.get('k1'), await users.get('u1'), await teams.get('t1')];
  assert.deepEqual([k!.spend_nanos, u!.spend_nanos, t!.spend_nanos], [0, 0, 0]);
  assert.deepEqual([k!.budget_period_start, u!.budget_period_start, t!.budget_period_start], [end, end, end]);
  assert.equal(k!.budget_reset_at, '2026-06-01T22:00:00.000Z', 'the next Paris midnight');
  assert.equal(u!.budget_reset_at, '2026-06-07T22:00:00.000Z', 'the next Monday');
  assert.equal(t!.budget_reset_at, '2026-06-30T22:00:00.000Z', '1 July');
  for (const scope of ['k1', 'user:u1', 'team:t1']) assert.equal(limiter.pending(scope), 0, scope);
  assert.equal(teamCache.peek('t1')!.spend_nanos, 0, 'the cache has the new period');
  // A job that ran late (the gateway was down for weeks) lands on the period that contains now.
  await db.run("UPDATE llmproxy_teams SET budget_reset_at = '2026-02-28T23:00:00.000Z' WHERE team_id = 't1'");
  await resetDueBudgets(periods, limiter, 'Europe/Paris', new Date('2026-05-10T00:00:00Z'));
  const late = (await teams.get('t1'))!;
  assert.equal(late.budget_reset_at, '2026-05-31T22:00:00.000Z');
  assert.equal(late.budget_period_start, '2026-04-30T22:00:00.000Z', 'the period began on 1 May, not on the reset it missed');
  await db.close();
});

test('litellm_settings.timezone is read, and a name that is not a time zone stops the start naming it', () => {
  const { config } = loadConfig(writeConfig('model_list: []\nlitellm_settings:\n  timezone: Asia/Kolkata\n'), {});
  assert.equal(config.timezone, 'Asia/Kolkata');
  assert.equal(loadConfig(writeConfig('model_list: []\n'), {}).config.timezone, 'UTC');
  assert.throws(() => loadConfig(writeConfig('model_list: []\nlitellm_settings:\n  timezone: Mars/Olympus\n'), {}), /litellm_settings\.timezone: is not a time zone/);
});
