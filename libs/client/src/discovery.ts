import { ErrorCode, RegistryError } from '@sofareg/model';
import { parseServerList, parseWeightedServerList, SessionCandidate } from './core/server-selection';

/** The part of `fetch` that discovery uses; injectable for tests. */
export type FetchLike = (
  url: string,
  init: { signal?: AbortSignal; headers?: Record<string, string> },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/** Options of {@link discoverSessions}. */
export interface DiscoveryOptions {
  /** Deadline of each HTTP request. */
  timeoutMs: number;
  /** Default: the global `fetch` of Node 20. */
  fetch?: FetchLike;
}

/**
 * Asks a session's HTTP admin (`endpoint`, e.g. `http://127.0.0.1:9603`) for the session servers:
 * first `GET /api/servers/queryWithWeight` (JSON `[{address, weight}]`), and when that is missing or not such
 * JSON, `GET /api/servers/query` (`host:port` lines or a JSON array of strings).
 * @throws RegistryError `Unavailable` when neither answers with at least one server.
 */
export async function discoverSessions(endpoint: string, options: DiscoveryOptions): Promise<SessionCandidate[]> {
  const fetchFn: FetchLike = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const base = endpoint.replace(/\/+$/, '');
  const get = async (path: string): Promise<string | undefined> => {
    const res = await fetchFn(base + path, { signal: AbortSignal.timeout(options.timeoutMs) });
    return res.ok ? res.text() : undefined;
  };
  let firstError: unknown;
  try {
    const body = await get('/api/servers/queryWithWeight');
    const weighted = body === undefined ? undefined : parseWeightedServerList(body);
    if (weighted && weighted.length > 0) return weighted;
  } catch (e) {
    firstError = e;
  }
  try {
    const body = await get('/api/servers/query');
    const plain = body === undefined ? [] : parseServerList(body);
    if (plain.length > 0) return plain.map((address) => ({ address }));
    throw new RegistryError({
      code: ErrorCode.Unavailable,
      message: `${base}/api/servers/query listed no session server`,
    });
  } catch (e) {
    if (e instanceof RegistryError) throw e;
    throw new RegistryError(
      {
        code: ErrorCode.Unavailable,
        message: `cannot discover session servers at ${base}: ${describe(e ?? firstError)}`,
      },
      { cause: e },
    );
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
