import { hostname } from 'node:os';
import type { LogaggError } from '../../errors.js';

/**
 * What logagg says it is to Elasticsearch clients. The version is the API it answers like (8.x bulk and info);
 * Filebeat 8.x refuses a cluster older than itself unless `allow_older_versions: true` (docs/integrations.md).
 */
export const ES_VERSION = '8.17.0';
export const CLUSTER_NAME = 'logagg';
// Stable across restarts and replicas: clients only show it, and a random one would suggest a new cluster.
const CLUSTER_UUID = 'bG9nYWdnLWVzLWNvbXBhdA';

/** The product header every Elasticsearch 7.14+ answer carries; the official clients refuse an answer without it. */
export const PRODUCT_HEADER = ['x-elastic-product', 'Elasticsearch'] as const;

/** GET / as Elasticsearch answers it (the clients' `info()`; Beats and Logstash read version.number). */
export function infoBody(): Record<string, unknown> {
  return {
    name: hostname(),
    cluster_name: CLUSTER_NAME,
    cluster_uuid: CLUSTER_UUID,
    version: {
      number: ES_VERSION,
      build_flavor: 'default',
      build_type: 'logagg',
      build_hash: 'logagg',
      build_date: '2024-12-11T12:08:05.663969764Z',
      build_snapshot: false,
      lucene_version: '9.12.0',
      minimum_wire_compatibility_version: '7.17.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'You Know, for Search',
  };
}

/** GET /_cluster/health: one node, no shards (logagg has none); green when the store answers, red otherwise. */
export function clusterHealthBody(up: boolean): Record<string, unknown> {
  return {
    cluster_name: CLUSTER_NAME,
    status: up ? 'green' : 'red',
    timed_out: false,
    number_of_nodes: 1,
    number_of_data_nodes: 1,
    active_primary_shards: 0,
    active_shards: 0,
    relocating_shards: 0,
    initializing_shards: 0,
    unassigned_shards: 0,
    delayed_unassigned_shards: 0,
    number_of_pending_tasks: 0,
    number_of_in_flight_fetch: 0,
    task_max_waiting_in_queue_millis: 0,
    active_shards_percent_as_number: 100,
  };
}

/** GET /_cat/health: Elasticsearch's columns; `?format=json` gives the same as one object in an array. */
export function catHealthRow(up: boolean, now: Date): Record<string, string> {
  return {
    epoch: String(Math.floor(now.getTime() / 1000)),
    timestamp: now.toISOString().slice(11, 19),
    cluster: CLUSTER_NAME,
    status: up ? 'green' : 'red',
    'node.total': '1',
    'node.data': '1',
    shards: '0',
    pri: '0',
    relo: '0',
    init: '0',
    unassign: '0',
    pending_tasks: '0',
    max_task_wait_time: '-',
    active_shards_percent: '100.0%',
  };
}

/** GET /_license: the free basic license, active (Logstash and Beats read type and status). */
export function licenseBody(): Record<string, unknown> {
  return {
    license: {
      status: 'active',
      uid: CLUSTER_UUID,
      type: 'basic',
      issue_date: '2024-01-01T00:00:00.000Z',
      issue_date_in_millis: 1704067200000,
      max_nodes: 1000,
      max_resource_units: null,
      issued_to: CLUSTER_NAME,
      issuer: 'elasticsearch',
      start_date_in_millis: -1,
    },
  };
}

/** GET /_xpack: no features; index lifecycle management in particular is absent, so Logstash does not set it up. */
export function xpackBody(): Record<string, unknown> {
  return {
    build: { hash: 'logagg', date: '2024-12-11T12:08:05.663969764Z' },
    license: { uid: CLUSTER_UUID, type: 'basic', mode: 'basic', status: 'active' },
    features: { ilm: { available: false, enabled: false }, security: { available: false, enabled: false } },
    tagline: 'You know, for X',
  };
}

// Elasticsearch's exception type for each of our refusals, so a client logs something it knows.
const ES_TYPES: Partial<Record<LogaggError['code'], string>> = {
  INVALID_JSON: 'x_content_parse_exception',
  BAD_REQUEST: 'illegal_argument_exception',
  VALIDATION_FAILED: 'action_request_validation_exception',
  BODY_TOO_LARGE: 'content_too_long_exception',
  BATCH_TOO_LARGE: 'content_too_long_exception',
  UNSUPPORTED_MEDIA_TYPE: 'media_type_header_exception',
  UNSUPPORTED_ENCODING: 'illegal_argument_exception',
  UNAUTHORIZED: 'security_exception',
  FORBIDDEN: 'security_exception',
  NOT_FOUND: 'resource_not_found_exception',
  OVERLOADED: 'es_rejected_execution_exception',
  QUOTA_EXCEEDED: 'es_rejected_execution_exception',
  STORE_UNAVAILABLE: 'cluster_block_exception',
  STORE_FULL: 'cluster_block_exception',
  SHUTTING_DOWN: 'node_closed_exception',
};

/** An error as Elasticsearch shapes it; `logagg_code` keeps our code from docs/errors.md. */
export function esErrorBody(err: LogaggError): Record<string, unknown> {
  const cause = { type: ES_TYPES[err.code] ?? 'exception', reason: err.message, logagg_code: err.code };
  return { error: { root_cause: [cause], ...cause }, status: err.status };
}
