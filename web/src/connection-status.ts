import { byId, setText } from './dom.js';
import { formatDuration } from './format.js';
import type { Snapshot } from './poller.js';

const STORE_NAMES = { postgres: 'PostgreSQL', pglite: 'embedded store (PGlite)' } as const;

type Health = 'ok' | 'store-down' | 'unreachable' | 'needs-key' | 'forbidden' | 'error';

function healthOf(snapshot: Snapshot): Health {
  const error = snapshot.error;
  if (snapshot.ready === false || error?.storeDown) return 'store-down';
  if (!error) return 'ok';
  if (error.status === 401) return 'needs-key';
  // A known key without the read role (a shipper's write key, say): another key is needed, not a retry.
  if (error.status === 403) return 'forbidden';
  if (error.status === 0) return 'unreachable';
  // 503 OVERLOADED and friends are the server answering: the store itself is fine.
  return 'error';
}

/** The header's one-line status and the banner that says plainly what is wrong (and clears itself). */
export function createConnectionStatus(): (snapshot: Snapshot) => void {
  const status = byId('status');
  const banner = byId('banner');
  return (snapshot) => {
    const health = healthOf(snapshot);
    const stats = snapshot.stats;
    const where = stats ? `${STORE_NAMES[stats.store]} · up ${formatDuration(stats.uptime)}` : '';
    const messages: Record<Health, [string, string]> = {
      ok: [`Ready · ${where}`, ''],
      'store-down': [
        'Store unavailable',
        'The store is unavailable: publishes are refused with 503 until it returns. This page keeps checking and recovers by itself.',
      ],
      unreachable: ['Offline', `Cannot reach the aggregator (${snapshot.error?.message ?? 'no answer'}). Retrying every second.`],
      'needs-key': ['API key required', 'This aggregator requires an API key. Enter it to see its figures.'],
      forbidden: [
        'Key not allowed',
        `This key may not read here (${snapshot.error?.message ?? ''}). Enter a key with the read role with the API key button.`,
      ],
      error: [
        'Degraded',
        `The aggregator answered ${snapshot.error?.status ?? ''} ${snapshot.error?.code ?? ''}: ${snapshot.error?.message ?? ''}`,
      ],
    };
    const [line, alert] = messages[health];
    status.dataset.health = health;
    setText(status, line);
    banner.hidden = alert === '';
    banner.dataset.health = health;
    setText(banner, alert);
  };
}
