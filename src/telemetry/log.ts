// Structured logs (pino): the application log, with credentials redacted wherever they could appear,
// and the access log (one line per call), built from fields that never hold a secret.
import { pino, type Logger } from 'pino';

/** What the access log says of a call: no prompt, no answer, no credential. */
export interface AccessFields {
  requestId: string;
  keyName: string | null;
  model: string;
  deployment: string | null;
  status: number;
  error?: string;
  stream: boolean;
  latencyMs: number;
  ttftMs?: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  estimated?: true;
}

export interface AccessLog {
  call(fields: AccessFields): void;
}

export interface Loggers {
  log: Logger;
  access: AccessLog;
}

/** The access log through a logger (tests, embedders). */
export function accessLogVia(log: Logger): AccessLog {
  return { call: (fields) => log.info(fields, 'call') };
}

export function createLoggers(level: string): Loggers {
  // Asynchronous writes, in 4 KB batches: a write per line cost a few percent of the CPU time under
  // load. Lines wait at most a second; pino flushes what is left when the process exits.
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
  // The same line as pino's (level, time, fields, msg), serialized in one JSON.stringify: pino's
  // field-by-field serialization with its redaction-free logger still cost 2-3 % of a call.
  const info = log.isLevelEnabled('info');
  const access: AccessLog = {
    call(fields) {
      if (info) destination.write(`${JSON.stringify({ level: 30, time: Date.now(), ...fields, msg: 'call' })}\n`);
    },
  };
  return { log, access };
}
