// Structured logs (pino). Credentials are redacted wherever they could appear.
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['headers.authorization', 'headers["api-key"]', 'headers["x-api-key"]', '*.api_key', '*.master_key', 'api_key', 'master_key'],
        censor: '[redacted]',
      },
    },
    // Asynchronous writes: the access log must not cost the request path a write per call.
    pino.destination({ sync: false }),
  );
}
