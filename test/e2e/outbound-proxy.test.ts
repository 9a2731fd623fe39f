// Provider calls go through HTTP_PROXY / HTTPS_PROXY when set (corporate networks), unless NO_PROXY says not.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type AddressInfo } from 'node:net';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { fakeModels, spawnGateway, type GatewayProcess } from '../helpers/gateway.ts';
import { tempDir } from '../helpers/temp.ts';

let fake: FakeUpstream;
let proxy: Server;
const proxied: string[] = [];

/** A forward proxy as corporate networks run them: CONNECT tunnels (and absolute-form requests). */
async function startProxy(): Promise<string> {
  proxy = createServer((req, res) => {
    proxied.push(req.url!);
    const up = request(req.url!, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  proxy.on('connect', (req, client, head) => {
    proxied.push(`CONNECT ${req.url}`);
    const [host, port] = req.url!.split(':');
    const target = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      target.write(head);
      target.pipe(client);
      client.pipe(target);
    });
    target.on('error', () => client.destroy());
    client.on('error', () => target.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

async function gatewayWith(env: NodeJS.ProcessEnv): Promise<GatewayProcess> {
  const dir = tempDir('outbound');
  writeFileSync(join(dir, 'config.yaml'), fakeModels(fake.url));
  return spawnGateway({ cwd: dir, args: ['--port', '0', '--host', '127.0.0.1'], env: { LITELLM_MASTER_KEY: 'sk-master-proxy', ...env } });
}

async function chat(gw: GatewayProcess): Promise<number> {
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-master-proxy' },
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.text();
  return res.status;
}

before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  proxy?.close();
  await fake.close();
});

test('HTTP_PROXY carries provider calls; NO_PROXY exempts hosts', async () => {
  const proxyUrl = await startProxy();
  const via = await gatewayWith({ HTTP_PROXY: proxyUrl });
  try {
    assert.equal(await chat(via), 200);
    assert.deepEqual(proxied, [`CONNECT ${new URL(fake.url).host}`]);
  } finally {
    await via.stop();
  }
  const exempt = await gatewayWith({ HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' });
  try {
    assert.equal(await chat(exempt), 200);
    assert.equal(proxied.length, 1);
  } finally {
    await exempt.stop();
  }
});
