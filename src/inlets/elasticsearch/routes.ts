import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogaggError } from '../../errors.js';
import type { Pipeline } from '../../ingest/index.js';
import { storeBulk } from './bulk.js';
import { catHealthRow, clusterHealthBody, esErrorBody, infoBody, licenseBody, PRODUCT_HEADER, xpackBody } from './compat.js';
import { decodeBulk, type ParseLine } from './decode.js';

/** What the health probes ask of the store (an inlet never imports a store: docs/architecture.md). */
export interface StoreProbe {
  ping(): Promise<unknown>;
}

export interface ElasticsearchRouteOptions {
  pipeline: Pipeline;
  store: StoreProbe;
  maxBatchEvents: number;
}

/**
 * The bulk body's media types: NDJSON, and JSON (rsyslog and older clients label it so), each also as the
 * compatibility type the 8.x and 9.x clients send (`application/vnd.elasticsearch+x-ndjson; compatible-with=9`).
 */
export const BULK_TYPES = [
  'application/x-ndjson',
  'application/json',
  'application/vnd.elasticsearch+x-ndjson',
  'application/vnd.elasticsearch+json',
];

// Fatal: bytes that are not UTF-8 are refused, not read as U+FFFD (two ids could otherwise become one key).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const HEALTH_TIMEOUT_MS = 2000;

/**
 * Routes GET and HEAD / to the Elasticsearch info when the client asks for JSON (or names no type, as Go and Java
 * HTTP clients do), and to the dashboard otherwise: a browser always asks for text/html and never for JSON.
 */
const ACCEPT_STRATEGY = {
  name: 'esClient',
  storage() {
    const handlers = new Map<string, unknown>();
    return {
      get: (value: string) => handlers.get(value) ?? null,
      set: (value: string, handler: unknown) => void handlers.set(value, handler),
    };
  },
  deriveConstraint(req: { headers: Record<string, string | string[] | undefined> }) {
    const accept = req.headers.accept;
    if (accept === undefined) return 'yes';
    return String(accept).includes('json') ? 'yes' : 'no';
  },
  mustMatchWhenDerived: false,
};

async function storeUp(store: StoreProbe): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS);
  });
  try {
    return await Promise.race([store.ping().then(() => true), deadline]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function pathIndex(request: FastifyRequest): string | undefined {
  const { index } = request.params as { index?: string };
  return index;
}

/**
 * The Elasticsearch bulk inlet (docs/integrations.md): POST|PUT /_bulk and /<index>/_bulk, plus the probes
 * shippers send before their first bulk (GET|HEAD /, _cluster/health, _cat/health, _license, _xpack, index
 * templates). Every answer carries X-Elastic-Product; errors are Elasticsearch-shaped.
 */
export function elasticsearchRoutes(app: FastifyInstance, options: ElasticsearchRouteOptions): void {
  if (!app.hasConstraintStrategy(ACCEPT_STRATEGY.name)) app.addConstraintStrategy(ACCEPT_STRATEGY as never);
  const parseJson = app.getDefaultJsonParser('error', 'error');

  void app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      reply.header(PRODUCT_HEADER[0], PRODUCT_HEADER[1]);
    });
    // The bulk body is read here, not by the shared JSON and NDJSON parsers: it is pairs of lines, and a bad
    // document is one item's error, not the request's.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(BULK_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
      try {
        done(null, utf8.decode(body as Buffer));
      } catch (err) {
        done(new LogaggError('INVALID_JSON', { message: 'The body is not valid UTF-8', cause: err }));
      }
    });
    const parseLine: (request: FastifyRequest) => ParseLine = (request) => (raw) => {
      let outcome: { value: unknown } | { error: Error } | undefined;
      parseJson(request, raw, (err, value: unknown) => {
        outcome = err ? { error: err } : { value };
      });
      // The parser answers synchronously. An Error made up front would cost a stack trace per line (it halved
      // the bulk inlet's throughput); only a parser that broke that contract gets here.
      return outcome ?? { error: new Error('the JSON parser did not answer synchronously') };
    };

    const bulk = {
      schema: {
        summary: 'Elasticsearch bulk API (create and index); answered after commit, one item per action',
        description:
          'NDJSON action/document pairs. _index (or the path index) is the topic, _id the event_id (a sha256 of ' +
          'index and document when absent), @timestamp or timestamp the timestamp, the document the payload. ' +
          'Items: 201 created; an existing id is 409 version_conflict_engine_exception for create and 200 noop ' +
          'for index (logagg never overwrites); 400 for a document that cannot be stored. docs/integrations.md.',
        tags: ['events'],
        consumes: BULK_TYPES,
      },
      config: { access: 'write' as const, inlet: { transport: 'elasticsearch' as const, renderError: esErrorBody } },
    };
    const handler = async (request: FastifyRequest) => {
      const startedAt = performance.now();
      if (typeof request.body !== 'string') {
        throw new LogaggError('INVALID_JSON', { message: 'The bulk request needs a body of action/document lines' });
      }
      const items = decodeBulk(request.body, parseLine(request), pathIndex(request), options.maxBatchEvents);
      // The quota is asked for the events that would be stored: the whole bulk is refused (429) when over.
      return storeBulk(
        items,
        (events) => {
          request.quota?.admit(events.length);
          return options.pipeline.submit(events, 'elasticsearch', { perEvent: true, tenant: request.tenant });
        },
        startedAt,
      );
    };
    scope.post('/_bulk', bulk, handler);
    scope.put('/_bulk', bulk, handler);
    scope.post('/:index/_bulk', bulk, handler);
    scope.put('/:index/_bulk', bulk, handler);

    // The probes shippers send before their first bulk: part of writing, so the write role.
    const probe = {
      schema: { hide: true },
      config: { access: 'write' as const, inlet: { transport: 'elasticsearch' as const, renderError: esErrorBody } },
    };
    scope.get('/', { ...probe, constraints: { esClient: 'yes' } }, async () => infoBody());
    scope.get('/_cluster/health', probe, async (_request, reply) => {
      const up = await storeUp(options.store);
      return reply.code(up ? 200 : 503).send(clusterHealthBody(up));
    });
    scope.get('/_cat/health', probe, async (request, reply) => {
      const up = await storeUp(options.store);
      const row = catHealthRow(up, new Date());
      reply.code(up ? 200 : 503);
      if ((request.query as { format?: string }).format === 'json') return reply.send([row]);
      return reply.type('text/plain; charset=UTF-8').send(`${Object.values(row).join(' ')}\n`);
    });
    scope.get('/_license', probe, async () => licenseBody());
    scope.get('/_xpack', probe, async () => xpackBody());
    // Index templates and ILM policies: logagg has no mappings, so none exists and a new one is acknowledged and
    // not kept (Filebeat and Logstash install theirs at start; docs/integrations.md says to turn that off).
    for (const path of ['/_index_template/:name', '/_template/:name', '/_ilm/policy/:name']) {
      scope.get(path, probe, async (request) => {
        throw new LogaggError('NOT_FOUND', { message: `no such template or policy [${(request.params as { name: string }).name}]` });
      });
      scope.put(path, probe, async () => ({ acknowledged: true }));
    }
  });
}
