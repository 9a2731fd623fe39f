// A fake of OpenAI-compatible providers as they really answer, replaying recorded shapes of each one's
// documented differences (test/fixtures/presets/<name>-stream.sse and <name>.json): POST
// /<name>/chat/completions answers the stream fixture frame by frame when the body streams, the JSON one
// otherwise. Every request is recorded (a preset that refuses a parameter is checked for not getting it).
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { recordingServer, type RecordedRequest } from './recording-server.ts';
import type { FakeUpstream } from './openai-upstream.ts';

const FIXTURES = new URL('../fixtures/presets/', import.meta.url);

export async function startPresetUpstream(): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  const server: Server = recordingServer(
    requests,
    (res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"bad json"}}');
    },
    async (req, res, body) => {
      const name = /^\/([a-z_]+)\/chat\/completions$/.exec((req.url ?? '').split('?')[0]!)?.[1];
      const file = name && new URL(`${name}${body.stream === true ? '-stream.sse' : '.json'}`, FIXTURES);
      let text: string;
      try {
        text = readFileSync(file as URL, 'utf8');
      } catch {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end('{"error":{"message":"no such fixture"}}');
      }
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(text);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const frame of text.split(/(?<=\n\n)/)) {
        res.write(frame);
        await new Promise((r) => setTimeout(r, 1));
      }
      res.end();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
