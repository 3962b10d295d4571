import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/index.js';
import { lokiDetectedRoutes } from './detected.js';
import { lokiLabelRoutes } from './labels.js';
import { lokiQueryRoutes } from './query.js';
import { lokiVolumeRoutes } from './volume.js';

/** The read side of the Loki HTTP API (docs/query.md): what Grafana's Loki data source asks. */
export function lokiReadRoutes(app: FastifyInstance, store: Store, version: string): void {
  lokiQueryRoutes(app, store);
  lokiLabelRoutes(app, store, version);
  lokiVolumeRoutes(app, store);
  lokiDetectedRoutes(app, store);
}
