// A bare HTTP upstream for tests that need an answer no fake provider gives (cut, silent, slow, endless):
// the handler runs once the request body is read.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawUpstream {
  /** http://127.0.0.1:PORT */
  base: string;
  close(): Promise<void>;
}

export async function startRawUpstream(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<RawUpstream> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
