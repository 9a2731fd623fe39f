import type { KeyRecord } from '../store/keys.ts';
import type { OrgRecord } from '../store/organizations.ts';
import type { TeamMember, TeamRecord } from '../store/teams.ts';
import type { UserRecord } from '../store/users.ts';

/**
 * Who is calling: the master key, or a virtual key (by its hash) with the user, team and organization
 * it belongs to (null where it has none, or names one that does not exist), and the user's
 * membership of that team (its budget and limits: max_budget_in_team).
 */
export type Principal =
  | { kind: 'master' }
  | { kind: 'key'; token: string; key: KeyRecord; user: UserRecord | null; team: TeamRecord | null; org: OrgRecord | null; member: TeamMember | null };
