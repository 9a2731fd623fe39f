// The floor for any Node gateway: a pass-through proxy with node:http and undici, no features.
// Run: node bench/bare-proxy.ts --target http://127.0.0.1:PORT [--port N]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

const { values } = parseArgs({ options: { target: { type: 'string' }, port: { type: 'string', default: '0' } } });
const target = values.target!;
const agent = new Agent({ connections: 4096, headersTimeout: 0, bodyTimeout: 0 });

const server = createServer(async (req, res) => {
  try {
    const up = await request(`${target}${req.url}`, {
      method: req.method as 'POST',
      headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
      body: req,
      dispatcher: agent,
    });
    res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  } catch {
    res.destroy();
  }
});
server.keepAliveTimeout = 120_000;
server.listen(Number(values.port), '127.0.0.1', () => console.log(`bare-proxy listening on ${(server.address() as AddressInfo).port}`));
