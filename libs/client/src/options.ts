import {
  DEFAULT_DATA_CENTER,
  DEFAULT_ZONE,
  ErrorCode,
  ErrorValue,
  REGISTRATION_LIMITS,
  RegistryError,
} from '@sofareg/model';
import type { Clock } from './clock';
import { DEFAULT_RECONNECT_POLICY, ReconnectPolicy } from './core/backoff';
import { isHostPort, SessionCandidate } from './core/server-selection';
import type { Logger } from './logger';
import type { Transport } from './transport';

/** Settings of a {@link RegistryClient}. Only where to connect is required; see README for every default. */
export interface RegistryClientOptions {
  /** Session servers, `host:port`, walked round-robin from a random start. */
  sessionServers?: readonly string[];
  /**
   * A session's HTTP admin URL (`http://host:9603`): the client asks it for the session list
   * (`/api/servers/queryWithWeight`, falling back to `/api/servers/query`) before each dial and takes the
   * less loaded of two random sessions. When both are given, `sessionServers` is the fallback.
   */
  registryEndpoint?: string;
  /** The client's zone (cell). Default `DEFAULT_ZONE`. */
  zone?: string;
  /** Default `DefaultDataCenter`. */
  dataCenter?: string;
  /** Sent with the hello and with every registration that does not name its own. Default `unknown`. */
  appName?: string;
  /** The address the client reports; default: the first non-internal IPv4 address, else 127.0.0.1. */
  clientIp?: string;
  /** Default `ip-pid-startTime`. */
  processId?: string;
  /** Stable for the life of this client instance. Default: a random UUID. */
  clientId?: string;

  /** Overrides parts of {@link DEFAULT_RECONNECT_POLICY}. */
  reconnect?: Partial<ReconnectPolicy>;
  /** Replaces the backoff formula: the wait before retry `attempt` (1-based), in ms. */
  reconnectDelay?: (attempt: number) => number;
  /** A dial that gets no session hello within this time fails. Default 5,000 ms. */
  connectTimeoutMs?: number;
  /** Application heartbeat period while connected. Default 5,000 ms. */
  heartbeatIntervalMs?: number;
  /** No message at all from the session for this long drops the connection. Default 15,000 ms. */
  heartbeatTimeoutMs?: number;
  /** gRPC keepalive ping period (`grpc.keepalive_time_ms`). Default 10,000 ms. */
  keepaliveTimeMs?: number;
  /** gRPC keepalive ping answer deadline (`grpc.keepalive_timeout_ms`). Default 5,000 ms. */
  keepaliveTimeoutMs?: number;
  /** Deadline of one discovery request to `registryEndpoint`. Default 2,000 ms. */
  discoveryTimeoutMs?: number;
  /** Most registrations that may be created while not connected; more throw `Overloaded`. Default 4,096. */
  offlineQueueSize?: number;
  /** Most status events one `status()` iterator buffers before dropping its oldest. Default 256. */
  statusBufferSize?: number;
  /** Extra grpc-js channel options, applied over the client's own. */
  channelOptions?: Readonly<Record<string, string | number>>;

  /** Structured logger. Default: silent. See `consoleJsonLogger()`. */
  logger?: Logger;
  /** Replaces the gRPC transport (tests, custom channels). */
  transport?: Transport;
  /** Replaces the HTTP discovery of `registryEndpoint`. */
  discover?: (endpoint: string) => Promise<SessionCandidate[]>;
  /** Replaces the process clock. */
  clock?: Clock;
  /** Replaces `Math.random` (server choice, jitter). Returns a number in [0, 1). */
  random?: () => number;
  /** Replaces `crypto.randomUUID` for registerIds. */
  newId?: () => string;
}

/** The validated, frozen settings the client runs with. */
export interface ResolvedClientOptions {
  readonly sessionServers: readonly string[];
  readonly registryEndpoint: string | undefined;
  readonly zone: string;
  readonly dataCenter: string;
  readonly appName: string;
  readonly reconnect: ReconnectPolicy;
  readonly reconnectDelay: ((attempt: number) => number) | undefined;
  readonly connectTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly discoveryTimeoutMs: number;
  readonly offlineQueueSize: number;
  readonly statusBufferSize: number;
  readonly channelOptions: Readonly<Record<string, string | number>>;
}

/** The documented defaults of the numeric settings. */
export const CLIENT_DEFAULTS = Object.freeze({
  connectTimeoutMs: 5_000,
  heartbeatIntervalMs: 5_000,
  heartbeatTimeoutMs: 15_000,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5_000,
  discoveryTimeoutMs: 2_000,
  offlineQueueSize: 4_096,
  statusBufferSize: 256,
  appName: 'unknown',
});

function invalid(field: string, message: string): RegistryError {
  const value: ErrorValue = { code: ErrorCode.InvalidArgument, field, message };
  return new RegistryError(value);
}

function positiveInt(field: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalid(field, `${field} must be an integer >= ${min} (rule: min), got ${String(value)}`);
  }
  return value;
}

function name(field: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/\S/.test(value) || value.length > REGISTRATION_LIMITS.maxAppNameLength) {
    throw invalid(
      field,
      `${field} must be a non-blank string of at most ${REGISTRATION_LIMITS.maxAppNameLength} characters (rule: isNotBlank)`,
    );
  }
  return value;
}

function policy(input: Partial<ReconnectPolicy> | undefined): ReconnectPolicy {
  const merged = { ...DEFAULT_RECONNECT_POLICY, ...(input ?? {}) };
  const nonNegative = (field: keyof ReconnectPolicy) => {
    const v = merged[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw invalid(
        `reconnect.${field}`,
        `reconnect.${field} must be a finite number >= 0 (rule: min), got ${String(v)}`,
      );
    }
  };
  nonNegative('initialDelayMs');
  nonNegative('maxDelayMs');
  nonNegative('stableConnectionMs');
  if (typeof merged.multiplier !== 'number' || !(merged.multiplier >= 1) || !Number.isFinite(merged.multiplier)) {
    throw invalid(
      'reconnect.multiplier',
      `reconnect.multiplier must be a finite number >= 1 (rule: min), got ${String(merged.multiplier)}`,
    );
  }
  if (typeof merged.jitter !== 'number' || !(merged.jitter >= 0 && merged.jitter <= 1)) {
    throw invalid(
      'reconnect.jitter',
      `reconnect.jitter must be within [0, 1] (rule: range), got ${String(merged.jitter)}`,
    );
  }
  if (!Number.isInteger(merged.maxAttempts) || merged.maxAttempts < -1) {
    throw invalid(
      'reconnect.maxAttempts',
      `reconnect.maxAttempts must be an integer >= -1 (rule: min), got ${String(merged.maxAttempts)}`,
    );
  }
  return Object.freeze(merged);
}

/**
 * Validates options once, at construction, into a frozen {@link ResolvedClientOptions}.
 * @throws RegistryError `InvalidArgument` naming the field and the rule.
 */
export function resolveClientOptions(options: RegistryClientOptions): ResolvedClientOptions {
  if (!options || typeof options !== 'object') throw invalid('', 'RegistryClient options must be an object');
  const servers = options.sessionServers ?? [];
  if (!Array.isArray(servers))
    throw invalid('sessionServers', 'sessionServers must be an array of host:port (rule: isArray)');
  servers.forEach((s, i) => {
    if (typeof s !== 'string' || !isHostPort(s)) {
      throw invalid(
        `sessionServers[${i}]`,
        `sessionServers[${i}] must be host:port (rule: isHostPort), got ${JSON.stringify(s)}`,
      );
    }
  });
  let endpoint: string | undefined;
  if (options.registryEndpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(options.registryEndpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw invalid(
        'registryEndpoint',
        `registryEndpoint must be an http(s) URL (rule: isUrl), got ${JSON.stringify(options.registryEndpoint)}`,
      );
    }
    endpoint = options.registryEndpoint.replace(/\/+$/, '');
  }
  if (servers.length === 0 && endpoint === undefined) {
    throw invalid('sessionServers', 'give sessionServers (host:port list) or registryEndpoint (rule: required)');
  }
  if (options.reconnectDelay !== undefined && typeof options.reconnectDelay !== 'function') {
    throw invalid('reconnectDelay', 'reconnectDelay must be a function (attempt) => ms (rule: isFunction)');
  }
  const heartbeatIntervalMs = positiveInt(
    'heartbeatIntervalMs',
    options.heartbeatIntervalMs,
    CLIENT_DEFAULTS.heartbeatIntervalMs,
  );
  const heartbeatTimeoutMs = positiveInt(
    'heartbeatTimeoutMs',
    options.heartbeatTimeoutMs,
    Math.max(CLIENT_DEFAULTS.heartbeatTimeoutMs, heartbeatIntervalMs * 3),
  );
  if (heartbeatTimeoutMs <= heartbeatIntervalMs) {
    throw invalid(
      'heartbeatTimeoutMs',
      `heartbeatTimeoutMs (${heartbeatTimeoutMs}) must exceed heartbeatIntervalMs (${heartbeatIntervalMs}) (rule: greaterThan)`,
    );
  }
  return Object.freeze({
    sessionServers: Object.freeze([...servers]),
    registryEndpoint: endpoint,
    zone: name('zone', options.zone, DEFAULT_ZONE),
    dataCenter: name('dataCenter', options.dataCenter, DEFAULT_DATA_CENTER),
    appName: name('appName', options.appName, CLIENT_DEFAULTS.appName),
    reconnect: policy(options.reconnect),
    reconnectDelay: options.reconnectDelay,
    connectTimeoutMs: positiveInt('connectTimeoutMs', options.connectTimeoutMs, CLIENT_DEFAULTS.connectTimeoutMs),
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    keepaliveTimeMs: positiveInt('keepaliveTimeMs', options.keepaliveTimeMs, CLIENT_DEFAULTS.keepaliveTimeMs),
    keepaliveTimeoutMs: positiveInt(
      'keepaliveTimeoutMs',
      options.keepaliveTimeoutMs,
      CLIENT_DEFAULTS.keepaliveTimeoutMs,
    ),
    discoveryTimeoutMs: positiveInt(
      'discoveryTimeoutMs',
      options.discoveryTimeoutMs,
      CLIENT_DEFAULTS.discoveryTimeoutMs,
    ),
    offlineQueueSize: positiveInt('offlineQueueSize', options.offlineQueueSize, CLIENT_DEFAULTS.offlineQueueSize, 0),
    statusBufferSize: positiveInt('statusBufferSize', options.statusBufferSize, CLIENT_DEFAULTS.statusBufferSize),
    channelOptions: Object.freeze({ ...(options.channelOptions ?? {}) }),
  });
}
