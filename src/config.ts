import { LogaggError } from './errors.js';
import { ALL_TENANTS, hashKey, isTenantName, type KeyEntry, parseKeys, readKeysFile } from './schema/keys.js';
import { parseTenantLimits, readTenantLimitsFile, type TenantLimits } from './schema/limits.js';
import { parseRetentionRules, type RetentionRule } from './schema/retention-rules.js';
import {
  DEFAULT_NATS_DURABLE,
  DEFAULT_NATS_STREAM,
  DEFAULT_NATS_SUBJECTS,
  DEFAULT_NATS_TENANT,
  natsSubjectsProblem,
} from './schema/nats.js';

/** Defaults for every setting (docs/spec.md §7); docs/config.md and the README table are checked against it. */
export const DEFAULTS = {
  PORT: '8080',
  HOST: '0.0.0.0',
  DATABASE_URL: '',
  DATA_DIR: './data',
  EMBEDDED_SYNC: 'on',
  BATCH_MAX: '1000',
  BATCH_LINGER_MS: '2',
  WORKERS: '2',
  MAX_QUEUE: '50000',
  BODY_LIMIT: '10485760',
  MAX_BATCH_EVENTS: '10000',
  API_KEY: '',
  KEYS: '',
  KEYS_FILE: '',
  TENANT_LIMITS: '',
  TENANT_LIMITS_FILE: '',
  LOG_LEVEL: 'info',
  SHUTDOWN_TIMEOUT_MS: '30000',
  REQUEST_TIMEOUT_MS: '30000',
  NATS_URL: '',
  NATS_STREAM: DEFAULT_NATS_STREAM,
  NATS_SUBJECTS: DEFAULT_NATS_SUBJECTS,
  NATS_DURABLE: DEFAULT_NATS_DURABLE,
  NATS_TENANT: DEFAULT_NATS_TENANT,
  RETENTION: '',
  DEDUP_RETENTION: '',
  RETENTION_RULES: '',
  DELETION_BATCH_SIZE: '1000',
  STORE_TIMEOUT_MS: '5000',
  EMBEDDED_STATEMENT_TIMEOUT_MS: '30000',
  MIN_FREE_DISK_MB: '64',
  OTLP_GRPC_PORT: '',
  LOKI_TOPIC_LABELS: 'topic,service_name,job,app',
  LOKI_SOURCE_LABELS: 'source,host,instance,hostname',
} as const;

export type EnvName = keyof typeof DEFAULTS;

/** The allowed range of each integer setting, inclusive; docs/config.md's table is checked against it. */
export const RANGES = {
  PORT: [0, 65535],
  BATCH_MAX: [1, 100_000],
  BATCH_LINGER_MS: [0, 10_000],
  WORKERS: [1, 64],
  MAX_QUEUE: [1, 10_000_000],
  BODY_LIMIT: [1024, 1024 * 1024 * 1024],
  MAX_BATCH_EVENTS: [1, 1_000_000],
  SHUTDOWN_TIMEOUT_MS: [0, 600_000],
  REQUEST_TIMEOUT_MS: [100, 600_000],
  DELETION_BATCH_SIZE: [1, 100_000],
  STORE_TIMEOUT_MS: [100, 600_000],
  EMBEDDED_STATEMENT_TIMEOUT_MS: [1000, 3_600_000],
  MIN_FREE_DISK_MB: [0, 1_048_576],
  OTLP_GRPC_PORT: [0, 65535],
} as const satisfies Partial<Record<EnvName, readonly [number, number]>>;

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedSync: boolean;
  batchMax: number;
  batchLingerMs: number;
  workers: number;
  maxQueue: number;
  bodyLimit: number;
  maxBatchEvents: number;
  apiKey: string | undefined;
  /** KEYS or KEYS_FILE's keys (docs/tenants.md); undefined when neither is set (API_KEY alone, or open). */
  keys: KeyEntry[] | undefined;
  /** Re-read on SIGHUP and when it changes. */
  keysFile: string | undefined;
  /** TENANT_LIMITS or TENANT_LIMITS_FILE's quotas (docs/tenants.md, "Quotas"); undefined: no quotas, no check. */
  tenantLimits: TenantLimits | undefined;
  /** Re-read on SIGHUP and when it changes. */
  tenantLimitsFile: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  shutdownTimeoutMs: number;
  requestTimeoutMs: number;
  natsUrl: string | undefined;
  natsStream: string;
  natsSubjects: string;
  natsDurable: string;
  /** One tenant, or `*`: each message's X-Scope-OrgID header names it. */
  natsTenant: string;
  /** Events received longer ago than this are deleted; undefined keeps them forever. */
  retentionMs: number | undefined;
  /** Keys outlive their events this long (> retentionMs); undefined: the dedup window is the retention. */
  dedupRetentionMs: number | undefined;
  /** Per-topic-pattern windows, first match wins; topics none matches take the two above (src/schema/retention-rules.ts). */
  retentionRules: RetentionRule[];
  /** Rows a deletion job deletes per transaction (src/store/deletion.ts). */
  deletionBatchSize: number;
  /** Longest a batch waits for the store before its requests get 503 STORE_UNAVAILABLE. */
  storeTimeoutMs: number;
  /** Embedded store: a statement running longer gets the engine thread replaced (watchdog). */
  embeddedStatementTimeoutMs: number;
  /** Embedded store: writes are refused with STORE_FULL below this much free space in DATA_DIR; 0 turns it off. */
  minFreeDiskMb: number;
  /** OTLP/gRPC port (LogsService/Export); undefined: no gRPC listener. 0 picks a free port. */
  otlpGrpcPort: number | undefined;
  /** Loki push: the stream labels that name an event's topic, then its source (the first one present). */
  lokiTopicLabels: string[];
  lokiSourceLabels: string[];
}

const DURATION_UNITS_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_DURATION_MS = 100 * 365 * 86_400_000;

/** "30d", "12h", "90m", "45s" → milliseconds; undefined when not such a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,9})(s|m|h|d)$/.exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS];
  return ms <= MAX_DURATION_MS ? ms : undefined;
}

function loadKeys(
  inline: string | undefined,
  file: string | undefined,
  apiKey: string | undefined,
  problems: string[],
): KeyEntry[] | undefined {
  if (inline !== undefined && file !== undefined) {
    problems.push('KEYS and KEYS_FILE are both set: set one (KEYS_FILE can be reloaded, KEYS cannot)');
    return undefined;
  }
  if (inline === undefined && file === undefined) return undefined;
  const apiKeyHash = apiKey === undefined ? undefined : hashKey(apiKey);
  const parsed = file === undefined ? parseKeys(inline ?? '', 'KEYS', apiKeyHash) : readKeysFile(file, apiKeyHash);
  problems.push(...parsed.problems);
  return parsed.keys;
}

function loadTenantLimits(inline: string | undefined, file: string | undefined, problems: string[]): TenantLimits | undefined {
  if (inline !== undefined && file !== undefined) {
    problems.push('TENANT_LIMITS and TENANT_LIMITS_FILE are both set: set one (TENANT_LIMITS_FILE can be reloaded)');
    return undefined;
  }
  if (inline === undefined && file === undefined) return undefined;
  const parsed = file === undefined ? parseTenantLimits(inline ?? '', 'TENANT_LIMITS') : readTenantLimitsFile(file);
  problems.push(...parsed.problems);
  return parsed.limits;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads, validates and freezes the configuration; every bad variable is reported at once as CONFIG_INVALID. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const problems: string[] = [];
  const raw = (name: EnvName): string => {
    const value = env[name];
    return value === undefined || value === '' ? DEFAULTS[name] : value;
  };
  const int = (name: keyof typeof RANGES): number => {
    const [min, max] = RANGES[name];
    const text = raw(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
  const optional = (name: EnvName): string | undefined => raw(name) || undefined;
  const labelList = (name: EnvName): string[] => {
    const names = raw(name)
      .split(',')
      .map((label) => label.trim())
      .filter((label) => label !== '');
    const bad = names.find((label) => !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label));
    if (bad !== undefined) problems.push(`${name} must be comma-separated label names (letters, digits, _), got "${bad}"`);
    return names;
  };
  const duration = (name: EnvName): number | undefined => {
    const text = optional(name);
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) problems.push(`${name} must be a duration like 30d, 12h, 90m or 45s (at most 100 years), got "${text}"`);
    return ms;
  };

  const logLevel = raw('LOG_LEVEL');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const embeddedSync = raw('EMBEDDED_SYNC');
  if (embeddedSync !== 'on' && embeddedSync !== 'off') {
    problems.push(`EMBEDDED_SYNC must be "on" or "off", got "${embeddedSync}"`);
  }
  const databaseUrl = optional('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgres:// or postgresql://');
  }
  const natsUrl = optional('NATS_URL');
  if (natsUrl !== undefined && !/^(nats|tls):\/\//.test(natsUrl)) problems.push('NATS_URL must start with nats:// or tls://');
  const subjectsProblem = natsSubjectsProblem(raw('NATS_SUBJECTS'));
  if (subjectsProblem !== undefined) problems.push(`NATS_SUBJECTS ${subjectsProblem}`);
  const natsTenant = raw('NATS_TENANT');
  if (natsTenant !== ALL_TENANTS && !isTenantName(natsTenant)) {
    problems.push(`NATS_TENANT must be a tenant name or *, got "${natsTenant.slice(0, 160)}"`);
  }
  const keys = loadKeys(optional('KEYS'), optional('KEYS_FILE'), optional('API_KEY'), problems);
  const tenantLimits = loadTenantLimits(optional('TENANT_LIMITS'), optional('TENANT_LIMITS_FILE'), problems);
  const rules = parseRetentionRules(raw('RETENTION_RULES'), parseDuration);
  problems.push(...rules.problems);
  const config: Config = {
    port: int('PORT'),
    host: raw('HOST'),
    databaseUrl,
    dataDir: raw('DATA_DIR'),
    embeddedSync: embeddedSync !== 'off',
    batchMax: int('BATCH_MAX'),
    batchLingerMs: int('BATCH_LINGER_MS'),
    workers: int('WORKERS'),
    maxQueue: int('MAX_QUEUE'),
    bodyLimit: int('BODY_LIMIT'),
    maxBatchEvents: int('MAX_BATCH_EVENTS'),
    apiKey: optional('API_KEY'),
    keys,
    keysFile: optional('KEYS_FILE'),
    tenantLimits,
    tenantLimitsFile: optional('TENANT_LIMITS_FILE'),
    logLevel: logLevel as Config['logLevel'],
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS'),
    requestTimeoutMs: int('REQUEST_TIMEOUT_MS'),
    natsUrl,
    natsStream: raw('NATS_STREAM'),
    natsSubjects: raw('NATS_SUBJECTS'),
    natsDurable: raw('NATS_DURABLE'),
    natsTenant,
    retentionMs: duration('RETENTION'),
    dedupRetentionMs: duration('DEDUP_RETENTION'),
    retentionRules: rules.rules,
    deletionBatchSize: int('DELETION_BATCH_SIZE'),
    storeTimeoutMs: int('STORE_TIMEOUT_MS'),
    embeddedStatementTimeoutMs: int('EMBEDDED_STATEMENT_TIMEOUT_MS'),
    minFreeDiskMb: int('MIN_FREE_DISK_MB'),
    otlpGrpcPort: optional('OTLP_GRPC_PORT') === undefined ? undefined : int('OTLP_GRPC_PORT'),
    lokiTopicLabels: labelList('LOKI_TOPIC_LABELS'),
    lokiSourceLabels: labelList('LOKI_SOURCE_LABELS'),
  };
  if (config.dedupRetentionMs !== undefined && config.retentionMs === undefined && optional('RETENTION') === undefined) {
    problems.push('DEDUP_RETENTION needs RETENTION: without retention every key is kept with its event forever');
  } else if (config.dedupRetentionMs !== undefined && config.retentionMs !== undefined && config.dedupRetentionMs <= config.retentionMs) {
    problems.push(
      'DEDUP_RETENTION must be longer than RETENTION (the keys outlive the payloads); unset it for a window equal to RETENTION',
    );
  }
  if (config.maxQueue < config.maxBatchEvents) {
    problems.push(
      `MAX_QUEUE (${config.maxQueue}) must be at least MAX_BATCH_EVENTS (${config.maxBatchEvents}), or a full batch could never be queued`,
    );
  }
  if (problems.length > 0) {
    throw new LogaggError('CONFIG_INVALID', { message: `Invalid configuration: ${problems.join('; ')}`, details: problems });
  }
  return Object.freeze(config);
}
