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

/**
 * Access lines gathered into writes of about 32 KB: sonic-boom measures the byte length of its
 * pending buffer on every write, which under load cost more than serializing the line.
 */
function batchedLines(destination: { write(s: string): unknown }, chars = 32768) {
  let lines: string[] = [];
  let size = 0;
  return {
    add(line: string): void {
      lines.push(line);
      size += line.length;
      if (size >= chars) this.push();
    },
    push(): void {
      if (!lines.length) return;
      destination.write(lines.join(''));
      lines = [];
      size = 0;
    },
  };
}

export function createLoggers(level: string): Loggers {
  // Asynchronous writes, in 4 KB batches: a write per line cost a few percent of the CPU time under
  // load. Lines wait at most a second; what is left is written when the process exits: the access
  // lines are handed over by these listeners, registered before the destination's, which then
  // flushes (pino's own exit hook).
  let handOver = () => {};
  process.once('beforeExit', () => handOver());
  process.once('exit', () => handOver());
  const destination = pino.destination({ sync: false, minLength: 4096 });
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
  const lines = batchedLines(destination);
  handOver = () => {
    try {
      lines.push();
    } catch {
      // the destination was closed already: nothing can be written any more
    }
  };
  setInterval(() => {
    lines.push();
    destination.flush();
  }, 1000).unref();
  // The same line as pino's (level, time, fields, msg), serialized in one JSON.stringify: pino's
  // field-by-field serialization with its redaction-free logger still cost 2-3 % of a call.
  const info = log.isLevelEnabled('info');
  const access: AccessLog = {
    call(fields) {
      if (info) lines.add(`${JSON.stringify({ level: 30, time: Date.now(), ...fields, msg: 'call' })}\n`);
    },
  };
  return { log, access };
}
