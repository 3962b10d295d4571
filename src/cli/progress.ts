import type { Progress } from './publish-run.js';

const WIDTH = 30;

function line(p: Progress): string {
  const rate = p.elapsedMs > 0 ? Math.round((p.sentEvents / p.elapsedMs) * 1000) : 0;
  return `${p.sentEvents}/${p.totalEvents} events, ${rate} events/s, ${p.retried} retried, ${p.failedRequests} failed`;
}

export interface ProgressReporter {
  update(p: Progress): void;
  /** Draws the last state for good and ends the line. */
  finish(): void;
}

/**
 * Progress on stderr (stdout stays for the report, so `--json | jq` works): a redrawn bar on a TTY, else one plain
 * line every few seconds so CI logs stay readable.
 */
export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr, plainEveryMs = 2000): ProgressReporter {
  let last: Progress | undefined;
  let lastPlainAt = Number.NEGATIVE_INFINITY;
  let printed: Progress | undefined;
  const draw = (p: Progress): void => {
    if (stream.isTTY) {
      const done = p.totalEvents === 0 ? 1 : p.sentEvents / p.totalEvents;
      const filled = Math.round(done * WIDTH);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${(done * 100).toFixed(0).padStart(3)}% ${line(p)}\x1b[K`);
    } else {
      stream.write(`publisher: ${line(p)}\n`);
    }
    printed = p;
  };
  return {
    update(p) {
      last = p;
      if (stream.isTTY) return draw(p);
      if (p.elapsedMs - lastPlainAt < plainEveryMs) return;
      lastPlainAt = p.elapsedMs;
      draw(p);
    },
    finish() {
      if (last && last !== printed) draw(last);
      if (stream.isTTY && printed) stream.write('\n');
    },
  };
}
