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

/**
 * Writes an OpenAI chat stream of `frames` content chunks as fast as the connection takes them (waiting
 * for 'drain' when its buffer is full), then the finish chunk and [DONE]; `onFrame` counts each as it
 * is handed over.
 */
export function writeOpenAIStream(res: ServerResponse, frames: number, content: string, onFrame: () => void = () => {}): void {
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-stream', object: 'chat.completion.chunk', created: 0, model: 'gpt-4', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  let sent = 0;
  const next = () => {
    while (sent < frames) {
      sent++;
      onFrame();
      if (!res.write(chunk({ content }, null))) return void res.once('drain', next);
    }
    res.write(chunk({}, 'stop'));
    res.end('data: [DONE]\n\n');
  };
  next();
}
