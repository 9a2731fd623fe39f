// node bench/readme.ts [RESULT.json]: writes a benchmark result (default: bench/results/reference.json)
// into README.md between <!-- bench:start --> and <!-- bench:end -->: the run's tables as printed, and
// the issue's targets against the features-on rows.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const file = process.argv[2] ?? `${ROOT}bench/results/reference.json`;
const run = JSON.parse(readFileSync(file, 'utf8'));
const s = run.scenarios;
const on = 'llm-proxy (features on)';
const row = (scenario: { rows: { target: string }[] } | undefined, target: string) => scenario?.rows.find((r) => r.target === target) as Record<string, number> | undefined;
const fmt = (n: number, d = 2) => n.toLocaleString('en-US', { maximumFractionDigits: d });
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');

const targets: string[][] = [];
const tp = row(s.throughput, on);
const bare = row(s.throughput, 'bare proxy');
const portkey = row(s.throughput, 'portkey');
if (tp && bare) {
  const x = tp.rps! / bare.rps!;
  targets.push(['throughput ≥ 0.6 × bare proxy', `${fmt(x)} × (${fmt(tp.rps!, 0)} vs ${fmt(bare.rps!, 0)} req/s; ${tp.cpuMsPerRequest} vs ${bare.cpuMsPerRequest} ms CPU a request)`, verdict(x >= 0.6)]);
}
if (tp && portkey) targets.push(['throughput ≥ 5 × Portkey', `${fmt(tp.rps! / portkey.rps!, 1)} ×`, verdict(tp.rps! / portkey.rps! >= 5)]);
const lat = row(s.latency, on);
const latBare = row(s.latency, 'bare proxy');
if (lat) {
  targets.push([
    'added latency at concurrency 1: p50 ≤ 0.3 ms, p99 ≤ 1 ms',
    `p50 ${fmt(lat.addedP50Ms!)} ms, p99 ${fmt(lat.addedP99Ms!)} ms${latBare ? ` (the bare proxy: ${fmt(latBare.addedP50Ms!)} / ${fmt(latBare.addedP99Ms!)})` : ''}`,
    verdict(lat.addedP50Ms! <= 0.3 && lat.addedP99Ms! <= 1),
  ]);
}
const st = row(s.streaming, on);
const stBare = row(s.streaming, 'bare proxy');
if (st) {
  const bare = (v: number | undefined, digits?: number) => (stBare && v !== undefined ? ` (the bare proxy: ${fmt(v, digits)})` : '');
  targets.push(['added time to first token ≤ 1 ms', `${fmt(st.addedTtftP50Ms!)} ms${bare(stBare?.addedTtftP50Ms)}`, verdict(st.addedTtftP50Ms! <= 1)]);
  targets.push(['RSS ≤ 250 MB with 1,000 open streams', `${fmt(st.rssPlateauMb!, 0)} MB${bare(stBare?.rssPlateauMb, 0)}`, verdict(st.rssPlateauMb! <= 250)]);
}
if (s.coldStart) {
  targets.push(['idle RSS ≤ 80 MB', `${fmt(s.coldStart.idleRssMb, 0)} MB`, verdict(s.coldStart.idleRssMb <= 80)]);
  targets.push(['cold start ≤ 1 s', `${fmt(s.coldStart.startToFirstAnswerMs / 1000)} s`, verdict(s.coldStart.startToFirstAnswerMs <= 1000)]);
}

if (s.translation) {
  const worst = Math.max(...s.translation.rows.map((r: { xPassthrough: number }) => r.xPassthrough));
  targets.push(['a Gemini deployment (translated) ≤ 1.3 × the CPU of an OpenAI passthrough', `${fmt(worst)} × at most (plain and streamed)`, verdict(worst <= 1.3)]);
}
if (s.responses) {
  const worst = Math.max(...s.responses.rows.filter((r: { route: string }) => r.route === 'responses passthrough').map((r: { xChat: number }) => r.xChat));
  targets.push(['/v1/responses passthrough ≤ 1.1 × the CPU of chat passthrough', `${fmt(worst)} × at most (plain and streamed)`, verdict(worst <= 1.1)]);
}
if (s.routing) {
  const added = s.routing.rows.find((r: { group: string }) => r.group === '8 deployments')?.addedUs as number | undefined;
  if (added !== undefined) targets.push(['routing in a group of 8 deployments < 5 µs a request more than in a group of one', `${fmt(added, 1)} µs`, verdict(added < 5)]);
}
if (s.cache) {
  // (against a 0 ms upstream a miss costs only the gateway's own work, which a hit does too: auth,
  // limits, the ledger record; the 50 ms row is a provider's answer, and what the cache saves)
  const fast = s.cache.rows.find((r: { upstream: string }) => r.upstream === 'bench-fast');
  const slow = s.cache.rows.find((r: { upstream: string }) => r.upstream === 'bench-50ms');
  if (fast && slow) {
    targets.push([
      'a cache hit ≥ 5 × the requests a second of a passthrough miss (32 connections)',
      `${fmt(slow.xMiss)} × against a 50 ms upstream (${fmt(slow.hitRps, 0)} vs ${fmt(slow.missRps, 0)} req/s); ${fmt(fast.xMiss)} × against a 0 ms one, where a miss is only the gateway's own work`,
      verdict(slow.xMiss >= 5),
    ]);
  }
}

const m = run.machine;
const block = [
  '<!-- bench:start -->',
  `The reference run (\`bench/results/reference.json\`: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date.slice(0, 10)}).`,
  'This is a shared virtual machine whose neighbours add noise (its idle load average is about 1.4, and',
  'the same scenario varies by a quarter between runs): compare the rows of one run, not runs.',
  '',
  '```',
  run.tables.join('\n\n'),
  '```',
  '',
  'Against the targets (features on):',
  '',
  '| target | measured | |',
  '|---|---|---|',
  ...targets.map((t) => `| ${t.join(' | ')} |`),
  '<!-- bench:end -->',
].join('\n');

const readme = readFileSync(`${ROOT}README.md`, 'utf8');
const start = readme.indexOf('<!-- bench:start -->');
const end = readme.indexOf('<!-- bench:end -->') + '<!-- bench:end -->'.length;
if (start < 0 || end < start) throw new Error('README.md has no bench:start / bench:end markers');
writeFileSync(`${ROOT}README.md`, readme.slice(0, start) + block + readme.slice(end));
console.log(`README.md: benchmark block written from ${file}`);
