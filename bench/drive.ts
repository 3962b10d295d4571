import { type Agent, request } from 'node:http';
import { createClient } from '../src/client/index.js';
import { latencySummary } from '../src/cli/percentiles.js';
import type { Stats } from '../src/schema/stats.js';
import type { Aggregator } from './aggregator.js';
import type { BenchContext } from './scenario.js';

/** One inlet's run: events/s over the whole stream, the request latency p99, peak RSS, and whether /stats agreed. */
export interface InletRun {
  rate: number;
  p99: number;
  rssMb: number;
  verified: boolean;
}

/** One POST on a keep-alive agent; the answer's status and text (a bulk answer's items are in the text). */
export function post(
  agent: Agent,
  url: string,
  contentType: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The loop every inlet scenario shares: `requests` requests through `send` (true when the inlet took it) with
 * `concurrency` in flight, then /stats checked against the planned stream, so a figure is only reported for a run
 * that stored every event once.
 */
export async function driveRequests(
  ctx: BenchContext,
  label: string,
  aggregator: Pick<Aggregator, 'url' | 'peakRssMb'>,
  stream: { order: { length: number }; distinct: number },
  requests: number,
  concurrency: number,
  send: (request: number) => Promise<boolean>,
): Promise<InletRun> {
  const latencies = new Float64Array(requests);
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (let r = next++; r < requests; r = next++) {
      const sent = performance.now();
      if (!(await send(r))) failed++;
      latencies[r] = performance.now() - sent;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  const stats = (await (await fetch(`${aggregator.url}/stats`)).json()) as Stats;
  const verified = failed === 0 && stats.received === stream.order.length && stats.unique_processed === stream.distinct;
  if (!verified) {
    ctx.log(
      `${label}: verification FAILED (${failed} refused, received ${stats.received}, unique ${stats.unique_processed} of ${stream.distinct})`,
    );
  }
  const run = {
    rate: (stream.order.length / elapsedMs) * 1000,
    p99: latencySummary(latencies).p99,
    rssMb: aggregator.peakRssMb(),
    verified,
  };
  ctx.log(
    `${label}: ${stream.order.length} events in ${(elapsedMs / 1000).toFixed(2)} s = ${Math.round(run.rate)}/s, p99 ${run.p99.toFixed(1)} ms, RSS ${run.rssMb.toFixed(0)} MiB`,
  );
  return run;
}

/** Times `probes` sequential GETs of path(i) on one keep-alive connection; p50 and p99 in ms. */
export async function probe(url: string, probes: number, path: (i: number) => string): Promise<{ p50: number; p99: number }> {
  const client = createClient({ url, concurrency: 1 });
  try {
    const samples = new Float64Array(probes);
    for (let i = 0; i < probes; i++) {
      const started = performance.now();
      const res = await client.get(path(i));
      samples[i] = performance.now() - started;
      if (res.status !== 200) throw new Error(`GET ${path(i)} answered ${res.status}: ${res.body.slice(0, 200)}`);
    }
    const summary = latencySummary(samples);
    return { p50: summary.p50, p99: summary.p99 };
  } finally {
    client.close();
  }
}
