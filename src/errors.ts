/**
 * The one table of error codes. A code is never renamed or reused; docs/errors.md lists each one and a test
 * checks both directions.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 422, retryable: false, message: 'The request does not match the schema' },
  INVALID_JSON: { status: 400, retryable: false, message: 'The body is not valid JSON' },
  BODY_TOO_LARGE: { status: 413, retryable: false, message: 'The body is larger than the limit' },
  BATCH_TOO_LARGE: { status: 413, retryable: false, message: 'The batch holds more events than the limit' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    message: 'The content type must be application/json, or NDJSON as application/x-ndjson, application/ndjson or application/jsonl',
  },
  UNSUPPORTED_ENCODING: { status: 415, retryable: false, message: 'The content encoding must be gzip or identity' },
  INVALID_OTLP: { status: 400, retryable: false, message: 'The body is not an OTLP/JSON ExportLogsServiceRequest' },
  INVALID_LOKI: { status: 400, retryable: false, message: 'The body is not a Loki push request' },
  BAD_REQUEST: { status: 400, retryable: false, message: 'The request is malformed' },
  INVALID_QUERY: { status: 400, retryable: false, message: 'The query cannot be answered' },
  QUERY_TIMEOUT: {
    status: 400,
    retryable: false,
    message: 'The query did not finish within STORE_TIMEOUT_MS; narrow it (a time range, a topic, a rarer word)',
  },
  REQUEST_TIMEOUT: { status: 408, retryable: true, message: 'The request was not received in time' },
  HEADERS_TOO_LARGE: { status: 431, retryable: false, message: 'The request line and headers are larger than the limit' },
  UNAUTHORIZED: { status: 401, retryable: false, message: 'A valid API key is required' },
  FORBIDDEN: { status: 403, retryable: false, message: "The API key's role or tenant does not allow this request" },
  NOT_FOUND: { status: 404, retryable: false, message: 'No such route' },
  DELETION_NOT_FOUND: { status: 404, retryable: false, message: 'No deletion job has this id' },
  QUOTA_EXCEEDED: {
    status: 429,
    retryable: true,
    message: 'The tenant is over a quota (TENANT_LIMITS); retry after Retry-After seconds',
  },
  OVERLOADED: { status: 503, retryable: true, message: 'The ingest queue is full; retry later' },
  STORE_UNAVAILABLE: { status: 503, retryable: true, message: 'The store cannot be reached; retry later' },
  SHUTTING_DOWN: { status: 503, retryable: true, message: 'The server is shutting down; retry on another replica' },
  STORE_FAILED: { status: 500, retryable: true, message: 'The store refused or failed the statement' },
  INTERNAL: { status: 500, retryable: true, message: 'Internal error' },
  CONFIG_INVALID: { status: 500, retryable: false, message: 'The configuration is invalid' },
  DATA_DIR_LOCKED: { status: 500, retryable: false, message: 'Another process owns the data directory' },
  MIGRATION_FAILED: { status: 500, retryable: false, message: 'The schema migration failed' },
  STORE_FULL: { status: 503, retryable: true, message: "The store's disk is full; retry later" },
  STARTUP_FAILED: { status: 500, retryable: false, message: 'The server could not start' },
  LOGQL_INVALID: { status: 400, retryable: false, message: 'The LogQL query does not parse' },
  LOGQL_UNSUPPORTED: { status: 400, retryable: false, message: "The LogQL query uses a part outside logagg's subset" },
  LOGQL_LIMIT: { status: 400, retryable: false, message: 'The query would exceed a limit' },
  LOGQL_PIPELINE_ERROR: { status: 400, retryable: false, message: 'A metric query met a pipeline error' },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

/** Every error logagg throws: a stable code from the table, optional details, the lower error as cause. */
export class LogaggError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: unknown[] | undefined;
  /** Seconds the client should wait (the Retry-After of a 429); 503s take RETRY_AFTER_SECONDS. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: { message?: string; details?: unknown[]; cause?: unknown; retryAfterSeconds?: number } = {}) {
    const entry = ERROR_CODES[code];
    super(options.message ?? entry.message, { cause: options.cause });
    this.name = 'LogaggError';
    this.code = code;
    this.status = entry.status;
    this.retryable = entry.retryable;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isLogaggError(err: unknown): err is LogaggError {
  return err instanceof LogaggError;
}
