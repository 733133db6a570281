import { Command, Option } from 'commander';
import { DEFAULT_DATA_CENTER, DEFAULT_ZONE } from '@sofareg/model';

/** Settings every role takes. Each flag is also read from `SOFAREG_<FLAG>` (e.g. `--http-port` / `SOFAREG_HTTP_PORT`). */
export interface CommonConfig {
  /** Address this server binds its listeners to. */
  host: string;
  /** Address others use to reach this server; its identity is `advertiseHost:port`. */
  advertiseHost: string;
  port: number;
  httpPort: number;
  meta: string[];
  zone: string;
  dataCenter: string;
  dataDir: string;
  logLevel: string;
}

/** One role-specific flag. */
export interface FlagSpec {
  flag: string;
  description: string;
  default?: string;
}

function longName(flag: string): string {
  const m = flag.match(/--([a-z0-9-]+)/);
  if (!m) throw new Error(`flag spec "${flag}" has no --long-name`);
  return m[1];
}

function envName(flag: string): string {
  return 'SOFAREG_' + longName(flag).replace(/-/g, '_').toUpperCase();
}

function camel(flag: string): string {
  return longName(flag).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Parses a role's command line (flags, then `SOFAREG_*` environment, then defaults) into a frozen object.
 * `--help` prints every flag with its variable and default, then exits. The only place that reads process.env.
 */
export function parseRoleConfig<T extends object>(
  role: string,
  defaults: { port: number; httpPort: number },
  extra: FlagSpec[],
  argv: string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<CommonConfig & T> {
  const program = new Command(`sofareg-${role}`).description(`sofareg ${role} server`).allowExcessArguments(false);
  const flags: FlagSpec[] = [
    { flag: '--host <host>', description: 'address to bind', default: '0.0.0.0' },
    { flag: '--advertise-host <host>', description: 'address others reach this server at', default: '127.0.0.1' },
    { flag: '--port <port>', description: 'gRPC port', default: String(defaults.port) },
    { flag: '--http-port <port>', description: 'HTTP admin port', default: String(defaults.httpPort) },
    { flag: '--meta <addresses>', description: 'meta servers, host:port[,host:port...]', default: '127.0.0.1:9610' },
    { flag: '--zone <zone>', description: 'zone (cell) of this server', default: DEFAULT_ZONE },
    { flag: '--data-center <dc>', description: 'data center of this server', default: DEFAULT_DATA_CENTER },
    { flag: '--data-dir <dir>', description: 'folder for durable state', default: `./var/${role}` },
    { flag: '--log-level <level>', description: 'trace|debug|info|warn|error', default: 'info' },
    ...extra,
  ];
  for (const f of flags) {
    const opt = new Option(f.flag, f.description).env(envName(f.flag));
    if (f.default !== undefined) opt.default(f.default);
    program.addOption(opt);
  }
  // commander reads process.env itself; give it the injected environment.
  const saved = process.env;
  process.env = env;
  try {
    program.parse(argv);
  } finally {
    process.env = saved;
  }
  const raw = program.opts<Record<string, string | undefined>>();
  const out: Record<string, unknown> = {};
  for (const f of flags) {
    const key = camel(f.flag);
    out[key] = raw[key];
  }
  for (const key of ['port', 'httpPort']) out[key] = parsePort(key, out[key] as string);
  out.meta = String(out.meta)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return Object.freeze(out) as unknown as Readonly<CommonConfig & T>;
}

/** Parses a TCP port (0 allowed: pick one), throwing an error that names the flag. */
export function parsePort(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--${kebab(name)} must be a port number 0..65535, got "${value}"`);
  return n;
}

/** Parses a positive integer setting, throwing an error that names the flag. */
export function parsePositiveInt(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${kebab(name)} must be a positive integer, got "${value}"`);
  return n;
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}
