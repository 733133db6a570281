import { RegistryError } from '@sofareg/client';

/** What the example needs to know, validated once at boot. */
export interface ExampleConfig {
  /** The dataId this instance publishes its address under. */
  readonly service: string;
  /** The dataId of the peer service it calls. */
  readonly peerService: string;
  readonly appName: string;
  /** HTTP port to listen on (0 = any free port). */
  readonly port: number;
  /** The host other instances reach this one at. */
  readonly host: string;
  readonly sessionServers: readonly string[];
  readonly registryEndpoint: string | undefined;
  readonly zone: string | undefined;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * Reads the example's settings from an environment map (the only place `process.env` is read is `main.ts`,
 * which passes it here). Defaults: `SERVICE=com.example.Ping`, `PEER_SERVICE=com.example.Pong`,
 * `SOFAREG_SESSION_SERVERS=127.0.0.1:9600`, `PORT=0`, `HOST=127.0.0.1`.
 * @throws RegistryError InvalidArgument naming the variable.
 */
export function loadExampleConfig(env: Readonly<Record<string, string | undefined>>): ExampleConfig {
  const service = env.SERVICE || 'com.example.Ping';
  const port = Number(env.PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RegistryError({
      code: 'InvalidArgument',
      field: 'PORT',
      message: `PORT must be an integer in 0..65535, got ${env.PORT}`,
    });
  }
  const logLevel = (env.LOG_LEVEL ?? 'info') as ExampleConfig['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new RegistryError({
      code: 'InvalidArgument',
      field: 'LOG_LEVEL',
      message: `LOG_LEVEL must be debug, info, warn or error`,
    });
  }
  const registryEndpoint = env.SOFAREG_REGISTRY_ENDPOINT || undefined;
  const servers = (env.SOFAREG_SESSION_SERVERS ?? (registryEndpoint ? '' : '127.0.0.1:9600'))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return Object.freeze({
    service,
    peerService: env.PEER_SERVICE || (service === 'com.example.Pong' ? 'com.example.Ping' : 'com.example.Pong'),
    appName: env.APP_NAME || service.split('.').pop()!.toLowerCase(),
    port,
    host: env.HOST || '127.0.0.1',
    sessionServers: Object.freeze(servers),
    registryEndpoint,
    zone: env.SOFAREG_ZONE || undefined,
    logLevel,
  });
}
