// What every fake provider does before it answers: read the body, refuse what is not JSON, record the
// request (and whether the client went away before the answer ended), then hand it to the fake.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, any>;
  raw: Buffer;
  aborted: boolean;
}

export function recordingServer(
  requests: RecordedRequest[],
  /** Answers a body that is not JSON, in the provider's own error format. */
  badJson: (res: ServerResponse) => void,
  handle: (req: IncomingMessage, res: ServerResponse, body: Record<string, any>) => Promise<void>,
): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: Record<string, any> = {};
      try {
        if (raw.length > 0) body = JSON.parse(raw.toString('utf8'));
      } catch {
        return badJson(res);
      }
      const rec: RecordedRequest = { path: req.url ?? '', headers: req.headers, body, raw, aborted: false };
      requests.push(rec);
      res.on('close', () => {
        if (!res.writableFinished) rec.aborted = true;
      });
      void handle(req, res, body).catch(() => res.destroy());
    });
  });
}
