// Where Bedrock calls go: {base}/model/{model id}/{converse|converse-stream|invoke|invoke-with-response-stream},
// the id encoded whole as AWS's SDKs encode it (an ARN's : and / included), and the headers every call
// has: the Bedrock API key when there is one (a call with AWS credentials is signed just before it goes).
import type { Deployment } from '../../config/load.ts';

export type BedrockMethod = 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream';

export function bedrockUrl(d: Deployment, method: BedrockMethod, upstreamModel: string): string {
  const id = d.aws?.modelId ?? upstreamModel;
  return `${d.apiBase}/model/${encodeURIComponent(id)}/${method}`;
}

export function bedrockHeaders(d: Deployment, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'application/vnd.amazon.eventstream' : 'application/json',
    // Identity so that usage can be read from the answer as it passes.
    'accept-encoding': 'identity',
  };
  if (d.aws?.bearer) headers.authorization = `Bearer ${d.aws.bearer}`;
  for (const [k, v] of Object.entries(d.extraHeaders)) headers[k.toLowerCase()] = v;
  return headers;
}
