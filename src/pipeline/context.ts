import type { ResponseStore } from '../store/responses.ts';
import type { Logger } from 'pino';
import type { KeyCache, RecordCache } from '../auth/key-cache.ts';
import type { CustomerPolicy } from '../policy/customers.ts';
import type { SharedBudgets } from '../policy/shared-budgets.ts';
import type { TagBudgets } from '../policy/tags.ts';
import type { KeyModelBudget } from '../store/key-models.ts';
import type { AccessGroups } from '../policy/model-access.ts';
import type { OrgRecord } from '../store/organizations.ts';
import type { TeamMember, TeamRecord } from '../store/teams.ts';
import type { UserRecord } from '../store/users.ts';
import type { GatewayConfig } from '../config/load.ts';
import type { Ledger } from '../metering/ledger.ts';
import type { PriceBook } from '../metering/prices.ts';
import type { ExpectedOutput } from '../policy/expected-output.ts';
import type { Limiter } from '../policy/limiter.ts';
import type { Counters } from '../policy/counters.ts';
import type { BudgetAlerts } from '../policy/alerts.ts';
import type { AlertSender } from '../telemetry/alert-sender.ts';
import type { Router } from '../router/router.ts';
import type { Cooldowns } from '../router/cooldowns.ts';
import type { HealthChecks } from '../router/health-checks.ts';
import type { ResponseCache } from '../cache/response-cache.ts';
import type { AccessLog } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { UiSessions } from '../auth/session.ts';

/** What the request path needs from the app: all of it in memory. */
export interface PipelineContext {
  config: GatewayConfig;
  router: Router;
  /** Deployments resting after failures (shared by every instance with Redis). */
  cooldowns: Cooldowns;
  /** The response cache (litellm_settings.cache); null: off. */
  cache: ResponseCache | null;
  /** Background health checks of the deployments (general_settings.background_health_checks); null: off. */
  healthChecks: HealthChecks | null;
  keyCache: KeyCache;
  users: RecordCache<UserRecord>;
  teams: RecordCache<TeamRecord>;
  orgs: RecordCache<OrgRecord>;
  /** Team memberships, by `TEAM:USER`. */
  members: RecordCache<TeamMember>;
  /** Customers that are blocked or have a budget, all in memory. */
  customers: CustomerPolicy;
  /** Shared budgets (budget_id) of organizations, customers, members and tags. */
  budgets: SharedBudgets;
  /** Tags with a budget, all in memory. */
  tags: TagBudgets;
  /** Keys' per-model budget rows (model_max_budget), by ref; read only for calls a key's model budget holds. */
  keyModels: RecordCache<KeyModelBudget>;
  /** Makes a key's model budget row if it is missing (a key whose budget was set before its row existed). */
  ensureKeyModel: (token: string, model: string, duration: string) => Promise<KeyModelBudget>;
  accessGroups: AccessGroups;
  /** Constant-time check of a credential's SHA-256 digest against the master key's. */
  isMaster: (credentialDigest: Buffer) => boolean;
  prices: PriceBook;
  /** This process's counters: spend not yet written, and the rate windows of deployments and logins. */
  limiter: Limiter;
  /** What admission and settlement take and give back: this process's, or Redis shared by every instance. */
  counters: Counters;
  expectedOutput: ExpectedOutput;
  /** Budget alerts (general_settings.alerting); null: off. */
  alerts: BudgetAlerts | null;
  /** Where alerts are sent (for /health/services); null: alerting off. */
  alertSender: AlertSender | null;
  ledger: Ledger;
  /** Responses API answers kept for previous_response_id and the retrieval routes. */
  responses: ResponseStore;
  metrics: Metrics;
  log: Logger;
  accessLog: AccessLog;
  /** Dashboard sessions, which the management API takes as the master key. */
  sessions?: UiSessions;
}

export type Headers = Record<string, string | string[] | undefined>;
