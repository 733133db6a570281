/**
 * Leases of session and data servers, kept by the meta leader only (a heartbeat every second is not a
 * replicated write). Pure: time is passed in. A new leader calls {@link LeaseTable.renewAll} for every known
 * server before it evicts anyone, so a leader change never evicts a live server.
 */
export class LeaseTable {
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly leaseMs: number) {}

  /** Records a heartbeat. */
  renew(address: string, nowMs: number): void {
    this.lastSeen.set(address, nowMs);
  }

  /** Gives every listed server a fresh lease and forgets any other. */
  renewAll(addresses: Iterable<string>, nowMs: number): void {
    this.lastSeen.clear();
    for (const a of addresses) this.lastSeen.set(a, nowMs);
  }

  forget(address: string): void {
    this.lastSeen.delete(address);
  }

  /** Servers whose lease has run out at `nowMs`, oldest first. */
  expired(nowMs: number): string[] {
    const out: [string, number][] = [];
    for (const [a, t] of this.lastSeen) if (nowMs - t > this.leaseMs) out.push([a, t]);
    return out.sort((x, y) => x[1] - y[1]).map(([a]) => a);
  }

  has(address: string): boolean {
    return this.lastSeen.has(address);
  }
}
