// Load clients of our own, for what a load tool does not measure: interleaved rounds at concurrency 1,
// fixed-rate load timed from each request's intended start (no coordinated omission), and streams
// (time to first token, gaps between chunks). Closed-loop throughput uses autocannon (run.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import * as hdr from 'hdr-histogram-js';
import { Agent, Pool, request } from 'undici';

export interface Target {
  name: string;
  /** URL of the chat completions route for a given upstream shape. */
  url: (shape: Shape) => string;
  headers: Record<string, string>;
  /** Model name to put in the body for a shape. */
  model: (shape: Shape) => string;
}

export interface Shape {
  name: string;
  /** Path prefix on the fake upstream. */
  path: string;
}

export const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

export function body(model: string, opts: { stream?: boolean; prompt?: string } = {}): string {
  return JSON.stringify({
    model,
    ...(opts.stream ? { stream: true } : {}),
    messages: [{ role: 'user', content: opts.prompt ?? 'Hello, how are you?' }],
  });
}

/** µs since an arbitrary origin. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function once(dispatcher: Pool | Agent, url: string, headers: Record<string, string>, payload: string): Promise<number> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload, dispatcher });
  await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
  return res.statusCode;
}

/**
 * Rounds at concurrency 1: in each round every target answers the same request once, in a rotating
 * order, so slow phases of the machine hit all targets alike. Returns each target's latencies (µs).
 */
export async function interleaved(targets: Target[], shape: Shape, rounds: number, prompt?: string): Promise<Map<string, number[]>> {
  const pools = targets.map((t) => new Pool(new URL(t.url(shape)).origin, { connections: 1, pipelining: 1 }));
  const out = new Map(targets.map((t) => [t.name, [] as number[]]));
  const payloads = targets.map((t) => body(t.model(shape), { prompt }));
  for (let warm = 0; warm < Math.min(50, rounds); warm++) {
    for (const [i, t] of targets.entries()) await once(pools[i]!, t.url(shape), t.headers, payloads[i]!);
  }
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (r + k) % targets.length;
      const t = targets[i]!;
      const start = nowUs();
      const status = await once(pools[i]!, t.url(shape), t.headers, payloads[i]!);
      if (status !== 200) throw new Error(`${t.name} answered ${status}`);
      out.get(t.name)!.push(nowUs() - start);
    }
  }
  await Promise.all(pools.map((p) => p.close()));
  return out;
}

export interface FixedRateResult {
  sent: number;
  errors: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Open-loop load at `rate` requests/s; latency (µs) counted from when each request was due. */
export async function fixedRate(t: Target, shape: Shape, rate: number, seconds: number): Promise<FixedRateResult> {
  const agent = new Agent({ connections: 2048, pipelining: 1 });
  const h = histogram();
  const url = t.url(shape);
  const payload = body(t.model(shape));
  const total = rate * seconds;
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const start = nowUs();
  let i = 0;
  while (i < total) {
    const now = nowUs();
    while (i < total && start + (i * 1e6) / rate <= now) {
      const due = start + (i * 1e6) / rate;
      inflight.push(
        once(agent, url, t.headers, payload).then(
          (status) => {
            if (status !== 200) errors++;
            h.recordValue(Math.max(1, nowUs() - due));
          },
          () => {
            errors++;
          },
        ),
      );
      i++;
    }
    await sleep(1);
  }
  await Promise.all(inflight);
  await agent.close();
  return { sent: total, errors, p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), p999: h.getValueAtPercentile(99.9), max: h.maxValue };
}

export interface StreamResult {
  streams: number;
  errors: number;
  frames: number;
  ttftP50: number;
  ttftP99: number;
  /** Of the time to first token, the part spent outside the upstream (µs, up to a constant offset): see `streams`. */
  outsideP50: number;
  /** Those times, one a stream, in ascending order. */
  outside: number[];
  /** The gateway's own time before the first byte, as it reports it (`x-litellm-overhead-duration-ms`, ms), one a stream. */
  ownWork: number[];
  gapP50: number;
  gapP99: number;
  durationMs: number;
}

/** Milliseconds on a clock shared by the processes of this machine (up to a constant offset each). */
const clock = () => performance.timeOrigin + performance.now();
const STAMP = /"x_bench":\[([\d.]+),([\d.]+)\]/;

/**
 * `count` concurrent streams, started `staggerMs` apart. Time to first token is measured to the
 * first frame carrying content after the role frame; gaps between successive reads of the stream.
 * The fake upstream stamps that frame with when it received the request and when it sent the frame:
 * the time to first token outside the upstream (request there, first token back) leaves out the
 * lateness of the upstream's own timers, which grows with the load the machine carries.
 */
export async function streams(t: Target, shape: Shape, count: number, staggerMs: number, onPlateau?: () => void, plateauAfterMs = 0): Promise<StreamResult> {
  const agent = new Agent({ connections: count + 16, pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
  const ttft = histogram();
  const outside: number[] = [];
  const ownWork: number[] = [];
  const gaps = histogram();
  const url = t.url(shape);
  const payload = body(t.model(shape), { stream: true });
  let errors = 0;
  let frames = 0;
  const started = nowUs();
  const one = async () => {
    const start = nowUs();
    const sentAt = clock();
    try {
      const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...t.headers }, body: payload, dispatcher: agent });
      if (res.statusCode !== 200) {
        errors++;
        await res.body.dump();
        return;
      }
      const own = Number(res.headers['x-litellm-overhead-duration-ms']);
      if (Number.isFinite(own)) ownWork.push(own);
      let last = 0;
      let seen = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        const now = nowUs();
        let n = 0;
        for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) if (chunk[at + 1] === 10) n++;
        // Frame 0 is the role frame; the first content frame is the first token.
        if (seen <= 1 && seen + n > 1) {
          ttft.recordValue(Math.max(1, now - start));
          const stamp = STAMP.exec(chunk.toString('latin1'));
          // Either clock may be ahead of the other by a constant: values may be negative, differences hold.
          if (stamp) outside.push((clock() - Number(stamp[2]) + Number(stamp[1]) - sentAt) * 1000);
        }
        else if (last > 0) gaps.recordValue(Math.max(1, now - last));
        last = now;
        seen += n;
      }
      frames += seen;
    } catch {
      errors++;
    }
  };
  const all: Promise<void>[] = [];
  let plateau: Promise<void> | null = null;
  for (let i = 0; i < count; i++) {
    all.push(one());
    if (staggerMs > 0) await sleep(staggerMs);
  }
  if (onPlateau) plateau = sleep(plateauAfterMs).then(onPlateau);
  await Promise.all(all);
  await plateau;
  await agent.close();
  return {
    streams: count,
    errors,
    frames,
    ttftP50: ttft.getValueAtPercentile(50),
    ttftP99: ttft.getValueAtPercentile(99),
    outsideP50: outside.sort((a, b) => a - b)[Math.floor(outside.length / 2)] ?? NaN,
    outside,
    ownWork,
    gapP50: gaps.getValueAtPercentile(50),
    gapP99: gaps.getValueAtPercentile(99),
    durationMs: (nowUs() - started) / 1000,
  };
}
