/** The few /metrics figures the page charts; /stats has no latency or rejection counts (rejections count nowhere). */
export interface MetricFigures {
  /** Sum and count of logagg_batch_commit_seconds: mean latency over an interval is Δsum / Δcount. */
  commitSecondsSum: number;
  commitCount: number;
  /** logagg_requests_rejected_total over every transport and reason, since this process started. */
  rejected: number;
}

const WANTED = ['logagg_batch_commit_seconds_sum', 'logagg_batch_commit_seconds_count', 'logagg_requests_rejected_total'] as const;

/** Reads the figures from Prometheus text exposition; other metrics are skipped without parsing their values. */
export function parseMetrics(text: string): MetricFigures {
  const sums = new Map<string, number>(WANTED.map((name) => [name, 0]));
  for (const line of text.split('\n')) {
    if (!line.startsWith('logagg_')) continue;
    const nameEnd = line.search(/[{ ]/);
    const name = line.slice(0, nameEnd);
    if (!sums.has(name)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return {
    commitSecondsSum: sums.get('logagg_batch_commit_seconds_sum') ?? 0,
    commitCount: sums.get('logagg_batch_commit_seconds_count') ?? 0,
    rejected: sums.get('logagg_requests_rejected_total') ?? 0,
  };
}
