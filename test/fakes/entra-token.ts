// A fake Microsoft Entra ID authority over HTTPS (Microsoft's identity library refuses any other), with
// a self-signed certificate for 127.0.0.1 made by openssl for the run: the OpenID configuration of a
// tenant and its token endpoint, answering the client-credentials grant with tokens it numbers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp.ts';

export interface FakeEntra {
  /** For AZURE_AUTHORITY_HOST. */
  url: string;
  /** The certificate to trust (NODE_EXTRA_CA_CERTS). */
  certFile: string;
  /** Each token request's form: grant_type, client_id, client_secret, scope. */
  requests: URLSearchParams[];
  close(): Promise<void>;
}

export async function startFakeEntra(opts: { tenant: string; clientId: string; clientSecret: string }): Promise<FakeEntra> {
  const dir = tempDir('entra');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const requests: URLSearchParams[] = [];
  let issued = 0;
  const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}/${opts.tenant}`;
      const path = (req.url ?? '').split('?')[0];
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.method === 'GET' && path === `/${opts.tenant}/v2.0/.well-known/openid-configuration`) {
        return json(200, {
          token_endpoint: `${base}/oauth2/v2.0/token`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          issuer: `${base}/v2.0`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`,
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        });
      }
      if (req.method === 'POST' && path === `/${opts.tenant}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        requests.push(form);
        if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== opts.clientId || form.get('client_secret') !== opts.clientSecret) {
          return json(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
        }
        return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: `entra-token-${++issued}` });
      }
      json(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    certFile,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
