// A database made by the version before users and teams (migration 4) migrates forward on both
// databases without losing a key or spend: the users and teams its keys name become rows, with the
// spend of their logs, and every key keeps working as it did.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from '../../src/store/db.ts';
import { KeyRepo } from '../../src/store/keys.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { TeamRepo } from '../../src/store/teams.ts';
import { UserRepo } from '../../src/store/users.ts';
import { freshPostgresUrl, POSTGRES } from '../helpers/databases.ts';

const stores: [string, () => Promise<Db>][] = [['sqlite', async () => openSqlite(':memory:')]];
if (POSTGRES) stores.push(['postgres', async () => openPostgres(await freshPostgresUrl())]);

for (const [name, open] of stores) {
  describe(`migrating forward on ${name}`, () => {
    test('keys naming users and teams: the users and teams are made, keys and spend kept', async () => {
      const db = await open();
      try {
        await db.migrate(4);
        const at = '2026-01-01T00:00:00.000Z';
        // As version 4 wrote them: a key with a user and a team, one with a user only, one with neither.
        for (const [token, user, team, spend] of [['k1', 'u1', 't1', 700], ['k2', 'u1', null, 300], ['k3', null, null, 0]] as const) {
          await db.run(
            'INSERT INTO llmproxy_keys (token, key_name, user_id, team_id, spend_nanos, max_budget_nanos, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            [token, `sk-...${token}`, user, team, spend, 5_000, at, at],
          );
        }
        for (const [id, key, user, team, cost] of [['r1', 'k1', 'u1', 't1', 700], ['r2', 'k2', 'u1', null, 300]] as const) {
          await db.run(
            `INSERT INTO llmproxy_spend_logs (request_id, key_token, user_id, team_id, model_group, call_type, input_tokens, cache_read_tokens,
              cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_nanos, status, http_status, stream, latency_ms,
              estimated, tags, started_at) VALUES (?, ?, ?, ?, 'g', 'chat', 1, 0, 0, 0, 1, 0, ?, 'success', 200, 0, 1, 0, '[]', ?)`,
            [id, key, user, team, cost, at],
          );
        }
        await db.migrate();
        const keys = new KeyRepo(db);
        const k1 = await keys.get('k1');
        assert.deepEqual([k1!.user_id, k1!.team_id, k1!.spend_nanos, k1!.max_budget_nanos, k1!.organization_id, k1!.allowed_routes], ['u1', 't1', 700, 5_000, null, null]);
        assert.equal((await keys.list({ page: 1, size: 10, sort_order: 'asc' })).total, 3);
        const u1 = await new UserRepo(db).get('u1');
        assert.deepEqual([u1!.user_role, u1!.spend_nanos, u1!.models, u1!.max_budget_nanos], ['internal_user', 1000, [], null]);
        const t1 = await new TeamRepo(db).get('t1');
        assert.deepEqual([t1!.spend_nanos, t1!.models, t1!.blocked], [700, [], false]);
        assert.equal(await new TeamRepo(db).get('null'), undefined);
      } finally {
        await db.close();
      }
    });
  });
}
