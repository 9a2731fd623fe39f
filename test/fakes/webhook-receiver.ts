// An alert webhook: records the JSON bodies posted to it; can answer with an error a number of times,
// or never answer.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver {
  url: string;
  events: any[];
  /** Answer the next `n` posts with this status instead of 200. */
  failNext(n: number, status?: number): void;
  /** Leave every post unanswered from now on. */
  hang(): void;
  /** Waits until `n` events arrived (or `ms` passed); the events. */
  waitFor(n: number, ms?: number): Promise<any[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const events: any[] = [];
  const hanging: ServerResponse[] = [];
  let failing = 0;
  let failStatus = 500;
  let hang = false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (hang) return void hanging.push(res);
      if (failing > 0) {
        failing--;
        return void res.writeHead(failStatus).end();
      }
      events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    events,
    failNext(n, status = 500) {
      failing = n;
      failStatus = status;
    },
    hang() {
      hang = true;
    },
    async waitFor(n, ms = 5_000) {
      const end = Date.now() + ms;
      while (events.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return events;
    },
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
