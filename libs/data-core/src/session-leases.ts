import type { Publisher } from '@sofareg/contracts';

/**
 * Which sessions count as live, and what is left of those that are not: meta's session list is the lease;
 * a session it no longer lists is given `graceMs` for its clients to re-register elsewhere before its
 * publishers go, and a client connection closed at its session stays closed (a late retried write or a sync
 * page read before the close cannot bring its publishers back) until compacted. Pure: time is passed in.
 */
export class SessionLeases {
  private live: Set<string> | undefined;
  /** Sessions no longer listed by meta, and since when. */
  private readonly departed = new Map<string, number>();
  /** Closed client connections (`session\0connectId` → when). */
  private readonly closed = new Map<string, number>();

  constructor(private readonly graceMs: number) {}

  /** Meta's latest list of live sessions; undefined until the first one arrived. */
  get sessions(): ReadonlySet<string> | undefined {
    return this.live;
  }

  /** Takes meta's list; a departed session listed again is live again. Returns whether it is the first list. */
  setLive(live: Iterable<string>): boolean {
    const first = this.live === undefined;
    this.live = new Set(live);
    for (const s of [...this.departed.keys()]) if (this.live.has(s)) this.departed.delete(s);
    return first;
  }

  /** Starts the grace of every owner of held publishers that is not listed (once; the first sighting counts). */
  noteOwners(owners: Iterable<string>, nowMs: number): void {
    if (!this.live) return;
    for (const s of owners) if (!this.live.has(s) && !this.departed.has(s)) this.departed.set(s, nowMs);
  }

  /** Sessions whose grace is over, forgotten here: the caller removes what they still own. */
  expire(nowMs: number): string[] {
    const out: string[] = [];
    for (const [session, since] of [...this.departed]) {
      if (nowMs - since < this.graceMs) continue;
      this.departed.delete(session);
      out.push(session);
    }
    return out;
  }

  /** Remembers client connections closed at `session`. */
  closeConnections(session: string, connectIds: Iterable<string>, nowMs: number): void {
    for (const c of connectIds) this.closed.set(`${session}\u0000${c}`, nowMs);
  }

  /** Whether the publisher's client connection was closed at its session. */
  isClosed(p: Pick<Publisher, 'sessionAddress' | 'connectId'>): boolean {
    return this.closed.has(`${p.sessionAddress}\u0000${p.connectId}`);
  }

  /** Forgets connections closed before `beforeMs` (with the tombstones: nothing older can arrive). */
  compact(beforeMs: number): void {
    for (const [k, at] of this.closed) if (at < beforeMs) this.closed.delete(k);
  }
}
