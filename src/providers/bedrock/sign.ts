// Bedrock calls are signed with AWS Signature Version 4 by AWS's own signer (@smithy/signature-v4, with
// Node's SHA-256 through @smithy/hash-node), over the exact bytes that are sent, just before they go:
// a signature is good for 5 minutes, and a retry is signed again.
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { UpstreamRequest } from '../adapter.ts';
import type { TokenSource } from '../tokens.ts';

export interface AwsSigning {
  region: string;
  credentials: TokenSource<AwsCredentialIdentity>;
  /** The signer, made once per deployment (it keeps its derived signing keys for the day). */
  signer?: SignatureV4;
}

const sha256 = Hash.bind(null, 'sha256');

/** Signs the request in place; the credentials must be ready (`credentials.current()` or after `ready()`). */
export async function signAws(up: UpstreamRequest, aws: AwsSigning): Promise<void> {
  aws.signer ??= new SignatureV4({
    service: 'bedrock',
    region: aws.region,
    credentials: () => aws.credentials.ready(),
    sha256,
  });
  const u = new URL(up.url);
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = v;
  const signed = await aws.signer.sign({
    method: 'POST',
    protocol: u.protocol,
    hostname: u.hostname,
    port: u.port === '' ? undefined : Number(u.port),
    path: u.pathname,
    query,
    headers: { ...up.headers, host: u.host },
    body: up.body,
  });
  up.headers = signed.headers;
}
