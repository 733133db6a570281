/**
 * Leases of session and data servers, kept by the meta leader only (a heartbeat every second is not a
 * replicated write). Pure: time is passed in. A new leader calls {@link LeaseTable.renewAll} for every known
 * server before it evicts anyone, so a leader change never evicts a live server.
 */
export class LeaseTable {
  private readonly lastSeen = new Map<string, number>();
  /** Servers whose watch stream closed: they expire at the given time unless they watch again. */
  private readonly suspects = new Map<string, number>();

  constructor(private readonly leaseMs: number) {}

  /**
   * Records a heartbeat. A heartbeat also lifts a suspicion (see {@link suspect}): the server is alive, its
   * watch stream just broke, and it will reopen one.
   */
  renew(address: string, nowMs: number): void {
    this.lastSeen.set(address, nowMs);
    this.suspects.delete(address);
  }

  /**
   * A server's watch stream closed (its process died, or the connection broke): unless it opens a new one
   * or heartbeats again, its lease ends `graceMs` from now, sooner than a full lease. A kill -9 closes the
   * socket at once, so a dead server is evicted in about `graceMs` instead of the whole lease.
   */
  suspect(address: string, nowMs: number, graceMs: number): void {
    if (this.lastSeen.has(address)) this.suspects.set(address, nowMs + graceMs);
  }

  /** The server watches again: back to the normal lease. */
  clearSuspect(address: string): void {
    this.suspects.delete(address);
  }

  /**
   * Gives every listed server a fresh lease (as if heard from at `nowMs`, which may be in the future) and
   * forgets any other.
   */
  renewAll(addresses: Iterable<string>, nowMs: number): void {
    this.lastSeen.clear();
    this.suspects.clear();
    for (const a of addresses) this.lastSeen.set(a, nowMs);
  }

  forget(address: string): void {
    this.lastSeen.delete(address);
    this.suspects.delete(address);
  }

  /** Servers whose lease has run out at `nowMs`, oldest first. */
  expired(nowMs: number): string[] {
    const out: [string, number][] = [];
    for (const [a, t] of this.lastSeen) {
      const until = Math.min(t + this.leaseMs, this.suspects.get(a) ?? Infinity);
      if (nowMs > until) out.push([a, t]);
    }
    return out.sort((x, y) => x[1] - y[1]).map(([a]) => a);
  }

  has(address: string): boolean {
    return this.lastSeen.has(address);
  }
}
