// Repository of organizations and their members (role org_admin, internal_user or
// internal_user_viewer within the organization). An organization's limits are its budget row.
import type { Queryable, SqlValue } from './db.ts';
import { EntityRepo, fromRow, insertRow, placeholders, updateRow, type TableSpec } from './rows.ts';
import { containsPattern } from './users.ts';

export interface OrgRecord {
  organization_id: string;
  organization_alias: string;
  budget_id: string | null;
  models: string[];
  metadata: Record<string, unknown>;
  spend_nanos: number;
  extra: Record<string, unknown>;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface OrgMember {
  organization_id: string;
  user_id: string;
  user_role: 'org_admin' | 'internal_user' | 'internal_user_viewer';
  budget_id: string | null;
  spend_nanos: number;
  created_at: string;
  updated_at: string;
}

export const ORGS: TableSpec<OrgRecord> = {
  table: 'llmproxy_organizations',
  columns: ['organization_id', 'organization_alias', 'budget_id', 'models', 'metadata', 'spend_nanos', 'extra', 'created_by', 'updated_by', 'created_at', 'updated_at'],
  json: new Set(['models', 'metadata', 'extra']),
  bools: new Set(),
  defaults: { models: [], metadata: {}, extra: {} },
};

export const ORG_MEMBERS: TableSpec<OrgMember> = {
  table: 'llmproxy_org_members',
  columns: ['organization_id', 'user_id', 'user_role', 'budget_id', 'spend_nanos', 'created_at', 'updated_at'],
  json: new Set(),
  bools: new Set(),
};

const fromMemberRow = (row: Record<string, unknown>): OrgMember => fromRow(ORG_MEMBERS, row);

export class OrgRepo extends EntityRepo<OrgRecord> {
  constructor(db: Queryable) {
    super(db, ORGS, 'organization_id');
  }

  /** Deletes the organizations and their memberships (their teams and keys are the caller's to delete). */
  override async delete(orgIds: string[]): Promise<number> {
    if (orgIds.length === 0) return 0;
    await this.db.run(`DELETE FROM llmproxy_org_members WHERE organization_id IN (${placeholders(orgIds.length)})`, orgIds);
    return super.delete(orgIds);
  }

  /** All organizations, or those `memberOf` belongs to; by alias. */
  async list(q: { memberOf?: string; org_id?: string; org_alias?: string }): Promise<OrgRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (q.memberOf !== undefined) {
      where.push('organization_id IN (SELECT organization_id FROM llmproxy_org_members WHERE user_id = ?)');
      params.push(q.memberOf);
    }
    if (q.org_id !== undefined) {
      where.push('organization_id = ?');
      params.push(q.org_id);
    }
    if (q.org_alias !== undefined) {
      where.push("lower(organization_alias) LIKE ? ESCAPE '\\'");
      params.push(containsPattern(q.org_alias));
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return (await this.db.all(`SELECT * FROM llmproxy_organizations ${clause} ORDER BY organization_alias, organization_id`, params)).map(this.read);
  }

  // Members

  async members(orgId: string): Promise<OrgMember[]> {
    return (await this.db.all('SELECT * FROM llmproxy_org_members WHERE organization_id = ? ORDER BY created_at, user_id', [orgId])).map(fromMemberRow);
  }

  async memberships(userId: string): Promise<OrgMember[]> {
    return (await this.db.all('SELECT * FROM llmproxy_org_members WHERE user_id = ? ORDER BY created_at, organization_id', [userId])).map(fromMemberRow);
  }

  async member(orgId: string, userId: string): Promise<OrgMember | undefined> {
    const row = await this.db.get('SELECT * FROM llmproxy_org_members WHERE organization_id = ? AND user_id = ?', [orgId, userId]);
    return row ? fromMemberRow(row) : undefined;
  }

  addMember(m: OrgMember): Promise<void> {
    return insertRow(this.db, ORG_MEMBERS, m);
  }

  async updateMember(orgId: string, userId: string, changes: Partial<OrgMember>): Promise<OrgMember | undefined> {
    await updateRow(this.db, ORG_MEMBERS, { organization_id: orgId, user_id: userId }, changes);
    return this.member(orgId, userId);
  }

  async removeMember(orgId: string, userId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM llmproxy_org_members WHERE organization_id = ? AND user_id = ?', [orgId, userId])).changes === 1;
  }

  async removeUsers(userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.db.run(`DELETE FROM llmproxy_org_members WHERE user_id IN (${placeholders(userIds.length)})`, userIds);
  }
}
