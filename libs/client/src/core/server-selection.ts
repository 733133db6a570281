/**
 * Which session server to dial next. Pure: randomness is passed in.
 * - A static `sessionServers` list is walked round-robin from a random start, so a dead server is skipped
 *   on the next attempt and many clients spread over the list.
 * - A discovered list with weights (connection counts) uses "the less loaded of two random choices", which
 *   spreads load nearly as well as picking the minimum without herding every client onto one server.
 */

/** A session server as discovery reports it; `weight` is its connection count when known. */
export interface SessionCandidate {
  readonly address: string;
  readonly weight?: number;
}

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

/** True for `host:port`, `a.b.c.d:port` or `[v6]:port` with a port in 1..65535. */
export function isHostPort(value: string): boolean {
  const m = HOST_PORT.exec(value);
  if (!m) return false;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535;
}

/**
 * Parses the body of `GET /api/servers/query`: `host:port` entries separated by newlines, commas or spaces,
 * or a JSON array of such strings. Invalid entries are skipped; duplicates are kept once, in order.
 */
export function parseServerList(body: string): string[] {
  const text = body.trim();
  let items: unknown[];
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      items = Array.isArray(parsed) ? parsed : [];
    } catch {
      items = [];
    }
  } else {
    items = text.split(/[\s,;]+/);
  }
  const out: string[] = [];
  for (const item of items) {
    const s = typeof item === 'string' ? item.trim() : '';
    if (isHostPort(s) && !out.includes(s)) out.push(s);
  }
  return out;
}

/**
 * Parses the body of `GET /api/servers/queryWithWeight`: a JSON array of `{address, weight}` (a
 * `connections` field is read when `weight` is absent). Returns undefined when the body is not such an
 * array, so the caller can fall back to the plain list.
 */
export function parseWeightedServerList(body: string): SessionCandidate[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const out: SessionCandidate[] = [];
  for (const item of parsed) {
    if (!item || typeof item !== 'object') continue;
    const { address, weight, connections } = item as Record<string, unknown>;
    if (typeof address !== 'string' || !isHostPort(address)) continue;
    if (out.some((c) => c.address === address)) continue;
    const w = typeof weight === 'number' ? weight : typeof connections === 'number' ? connections : undefined;
    out.push(w !== undefined && Number.isFinite(w) ? { address, weight: w } : { address });
  }
  return out;
}

/**
 * Picks the less loaded of two distinct random candidates (a candidate without a weight counts as 0;
 * a tie keeps the first). `avoid` (the server that just failed) is left out when another remains.
 * Returns undefined for an empty list.
 */
export function pickLessLoaded(
  candidates: readonly SessionCandidate[],
  random: () => number,
  avoid?: string,
): SessionCandidate | undefined {
  let pool = candidates;
  if (avoid !== undefined && pool.length > 1) {
    const rest = pool.filter((c) => c.address !== avoid);
    if (rest.length > 0) pool = rest;
  }
  if (pool.length === 0) return undefined;
  if (pool.length === 1) return pool[0];
  const i = pickIndex(pool.length, random);
  let j = pickIndex(pool.length - 1, random);
  if (j >= i) j++;
  const a = pool[i];
  const b = pool[j];
  return (b.weight ?? 0) < (a.weight ?? 0) ? b : a;
}

/** A round-robin walk over a fixed list, starting at a random index. */
export class RoundRobin {
  private index: number;

  constructor(
    private readonly servers: readonly string[],
    random: () => number,
  ) {
    if (servers.length === 0) throw new Error('RoundRobin needs at least one server');
    this.index = pickIndex(servers.length, random);
  }

  /** The next server to dial. */
  next(): string {
    const server = this.servers[this.index];
    this.index = (this.index + 1) % this.servers.length;
    return server;
  }
}

function pickIndex(n: number, random: () => number): number {
  const r = random();
  const i = Math.floor((Number.isFinite(r) ? r : 0) * n);
  return Math.min(n - 1, Math.max(0, i));
}
