// Repository of teams and their members. A member's role (admin or user) and optional budget live in
// one membership row: LiteLLM keeps the same facts in three places (members_with_roles, the user's
// teams, the membership table), which the API shows but this store does not repeat.
import type { Queryable, SqlValue } from './db.ts';
import type { InlineBudget } from './rows.ts';
import { BudgetedRepo, fromRow, insertRow, placeholders, type TableSpec, updateRow } from './rows.ts';
import { containsPattern } from './users.ts';

export interface TeamRecord extends InlineBudget {
  team_id: string;
  team_alias: string | null;
  organization_id: string | null;
  models: string[];
  metadata: Record<string, unknown>;
  blocked: boolean;
  extra: Record<string, unknown>;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface TeamMember {
  team_id: string;
  user_id: string;
  role: 'admin' | 'user';
  budget_id: string | null;
  spend_nanos: number;
  created_at: string;
  updated_at: string;
}

export const TEAMS: TableSpec<TeamRecord> = {
  table: 'llmproxy_teams',
  columns: [
    'team_id', 'team_alias', 'organization_id', 'models', 'metadata', 'spend_nanos', 'max_budget_nanos', 'soft_budget_nanos',
    'budget_duration', 'budget_reset_at', 'budget_period_start', 'tpm_limit', 'rpm_limit', 'max_parallel_requests', 'model_max_budget',
    'blocked', 'extra', 'created_by', 'updated_by', 'created_at', 'updated_at',
  ],
  json: new Set(['models', 'metadata', 'model_max_budget', 'extra']),
  bools: new Set(['blocked']),
  defaults: { models: [], metadata: {}, extra: {} },
};

export const TEAM_MEMBERS: TableSpec<TeamMember> = {
  table: 'llmproxy_team_members',
  columns: ['team_id', 'user_id', 'role', 'budget_id', 'spend_nanos', 'created_at', 'updated_at'],
  json: new Set(),
  bools: new Set(),
};

export interface TeamListQuery {
  /** Teams this user is a member of. */
  user_id?: string;
  /** Teams of this organization; null: teams of none. */
  organization_id?: string | null;
  team_id?: string;
  /** Aliases containing this, in any case. */
  team_alias?: string;
  page: number;
  page_size: number;
  sort_by?: 'team_id' | 'team_alias' | 'created_at';
  sort_order: 'asc' | 'desc';
}

const fromMemberRow = (row: Record<string, unknown>): TeamMember => fromRow(TEAM_MEMBERS, row);

export class TeamRepo extends BudgetedRepo<TeamRecord> {
  constructor(db: Queryable) {
    super(db, TEAMS, 'team_id');
  }

  /** Deletes the teams and their memberships. */
  override async delete(teamIds: string[]): Promise<number> {
    if (teamIds.length === 0) return 0;
    await this.db.run(`DELETE FROM llmproxy_team_members WHERE team_id IN (${placeholders(teamIds.length)})`, teamIds);
    return super.delete(teamIds);
  }

  async list(q: TeamListQuery): Promise<{ teams: TeamRecord[]; total: number }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (q.user_id !== undefined) {
      where.push('team_id IN (SELECT team_id FROM llmproxy_team_members WHERE user_id = ?)');
      params.push(q.user_id);
    }
    if (q.organization_id === null) where.push('organization_id IS NULL');
    else if (q.organization_id !== undefined) {
      where.push('organization_id = ?');
      params.push(q.organization_id);
    }
    if (q.team_id !== undefined) {
      where.push('team_id = ?');
      params.push(q.team_id);
    }
    if (q.team_alias !== undefined) {
      where.push("lower(team_alias) LIKE ? ESCAPE '\\'");
      params.push(containsPattern(q.team_alias));
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM llmproxy_teams ${clause}`, params))?.n ?? 0);
    const dir = q.sort_order === 'desc' ? 'DESC' : 'ASC';
    // Teams by alias (no alias sorts first, as ''), as LiteLLM lists them, unless asked otherwise.
    const order = q.sort_by === undefined || q.sort_by === 'team_alias' ? `COALESCE(team_alias, '') ${dir}` : `${q.sort_by} ${dir}`;
    const rows = await this.db.all(`SELECT * FROM llmproxy_teams ${clause} ORDER BY ${order}, team_id ${dir} LIMIT ? OFFSET ?`, [
      ...params,
      q.page_size,
      (q.page - 1) * q.page_size,
    ]);
    return { teams: rows.map(this.read), total };
  }

  async teamsOfOrganization(orgId: string): Promise<TeamRecord[]> {
    return (await this.db.all('SELECT * FROM llmproxy_teams WHERE organization_id = ? ORDER BY team_id', [orgId])).map(this.read);
  }

  // Members

  async members(teamId: string): Promise<TeamMember[]> {
    return (await this.db.all('SELECT * FROM llmproxy_team_members WHERE team_id = ? ORDER BY created_at, user_id', [teamId])).map(fromMemberRow);
  }

  async membersOfTeams(teamIds: string[]): Promise<TeamMember[]> {
    if (teamIds.length === 0) return [];
    return (
      await this.db.all(`SELECT * FROM llmproxy_team_members WHERE team_id IN (${placeholders(teamIds.length)}) ORDER BY created_at, user_id`, teamIds)
    ).map(fromMemberRow);
  }

  async memberships(userId: string): Promise<TeamMember[]> {
    return (await this.db.all('SELECT * FROM llmproxy_team_members WHERE user_id = ? ORDER BY created_at, team_id', [userId])).map(fromMemberRow);
  }

  async member(teamId: string, userId: string): Promise<TeamMember | undefined> {
    const row = await this.db.get('SELECT * FROM llmproxy_team_members WHERE team_id = ? AND user_id = ?', [teamId, userId]);
    return row ? fromMemberRow(row) : undefined;
  }

  addMember(m: TeamMember): Promise<void> {
    return insertRow(this.db, TEAM_MEMBERS, m);
  }

  async updateMember(teamId: string, userId: string, changes: Partial<TeamMember>): Promise<TeamMember | undefined> {
    await updateRow(this.db, TEAM_MEMBERS, { team_id: teamId, user_id: userId }, changes);
    return this.member(teamId, userId);
  }

  async removeMember(teamId: string, userId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM llmproxy_team_members WHERE team_id = ? AND user_id = ?', [teamId, userId])).changes === 1;
  }

  /** Removes the users from every team (the users are being deleted). */
  async removeUsers(userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.db.run(`DELETE FROM llmproxy_team_members WHERE user_id IN (${placeholders(userIds.length)})`, userIds);
  }
}
