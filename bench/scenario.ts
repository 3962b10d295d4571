import { runPublisher, type PublisherOptions, type PublisherReport } from '../src/cli/publish-run.js';
import { type Aggregator, type BenchStore, type ServerEntry, startAggregator } from './aggregator.js';

/** One measured figure: the median of its samples (one per run), and the target it is held to, if any. */
export interface Figure {
  name: string;
  unit: string;
  samples: number[];
  median: number;
  target?: { op: '>=' | '<='; value: number };
}

export interface ScenarioResult {
  title: string;
  /** The workload in one line, for the report. */
  workload: string;
  figures: Figure[];
  /** Every publisher run of the scenario passed its /stats verification. */
  verified: boolean;
}

export interface BenchContext {
  quick: boolean;
  runs: number;
  adminUrl: string;
  entry: ServerEntry;
  /** Extra node flags for the aggregator child (e.g. --cpu-prof). */
  nodeArgs: readonly string[];
  /** Set by the raw-ceiling scenario, read by the ingest scenarios for their ratio. */
  rawCeiling?: number;
  log(message: string): void;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function figure(name: string, unit: string, samples: number[], target?: Figure['target']): Figure {
  return { name, unit, samples, median: median(samples), ...(target ? { target } : {}) };
}

/** Whether a figure meets its target; undefined when it has none. */
export function meets(f: Figure): boolean | undefined {
  if (!f.target) return undefined;
  return f.target.op === '>=' ? f.median >= f.target.value : f.median <= f.target.value;
}

export const POSTGRES = (ctx: BenchContext): BenchStore => ({ kind: 'postgres', adminUrl: ctx.adminUrl });

/** The database of a running PostgreSQL aggregator, for a second replica to join. */
export function replicaOf(ctx: BenchContext, first: Aggregator): BenchStore {
  if (first.databaseUrl === undefined) throw new Error('a replica needs a PostgreSQL aggregator to join');
  return { kind: 'postgres', adminUrl: ctx.adminUrl, databaseUrl: first.databaseUrl };
}

/** Runs the publisher once against a fresh aggregator; returns its report and the server's peak RSS. */
export async function publishOnce(
  ctx: BenchContext,
  store: BenchStore,
  options: Omit<PublisherOptions, 'url' | 'topicPrefix' | 'seed'>,
  env: Record<string, string> = {},
): Promise<{ report: PublisherReport; peakRssMb: number }> {
  const aggregator: Aggregator = await startAggregator(store, ctx.entry, env, ctx.nodeArgs);
  try {
    const report = await runPublisher({ ...options, url: aggregator.url, seed: 42, topicPrefix: 'bench' });
    const peakRssMb = aggregator.peakRssMb();
    if (!report.ok) ctx.log(`verification FAILED: ${JSON.stringify(report.checks.filter((c) => !c.ok))} ${report.errors.join('; ')}`);
    ctx.log(
      `${report.sent} events in ${(report.elapsedMs / 1000).toFixed(2)} s = ${Math.round(report.eventsPerSecond)}/s, p99 ${report.latencyMs.p99.toFixed(1)} ms, retried ${report.retried}, RSS ${peakRssMb.toFixed(0)} MiB`,
    );
    return { report, peakRssMb };
  } finally {
    await aggregator.stop();
  }
}

/** Samples of ctx.runs publisher runs, each on a fresh aggregator: the loop every ingest scenario shares. */
export interface RunSamples {
  rate: number[];
  p50: number[];
  p99: number[];
  rss: number[];
  verified: boolean;
}

export async function publishRuns(
  ctx: BenchContext,
  store: BenchStore,
  options: Omit<PublisherOptions, 'url' | 'topicPrefix' | 'seed'>,
  env: Record<string, string> = {},
): Promise<RunSamples> {
  const samples: RunSamples = { rate: [], p50: [], p99: [], rss: [], verified: true };
  for (let run = 0; run < ctx.runs; run++) {
    const { report, peakRssMb } = await publishOnce(ctx, store, options, env);
    samples.verified &&= report.ok;
    samples.rate.push(report.eventsPerSecond);
    samples.p50.push(report.latencyMs.p50);
    samples.p99.push(report.latencyMs.p99);
    samples.rss.push(peakRssMb);
  }
  return samples;
}
