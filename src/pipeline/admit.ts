// May this principal call this model group? (Budgets and rate limits join here with metering.)
import type { Principal } from '../auth/principal.ts';
import { GatewayError } from '../http/errors.ts';
import { modelAllowed } from '../policy/model-access.ts';

export function admit(principal: Principal, group: string, requested: string): void {
  if (!modelAllowed(principal, group) && !modelAllowed(principal, requested)) {
    throw new GatewayError(
      'model_access_denied',
      `This key is not allowed to access model "${requested}". It can access: ${principal.kind === 'key' ? principal.key.models.join(', ') : 'all'}.`,
      { param: 'model' },
    );
  }
}
