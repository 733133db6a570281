import type { NodeInfo, SlotTable } from '@sofareg/contracts';
import { type SlotTable as ArrangedTable, arrange } from '@sofareg/consistent-hash';
import { LeaseTable } from './lease-table';
import { MetaCommand, MetaStateValue, knownServers, liveDataServers } from './meta-state';

/** Settings of a {@link LeaderDuties}. */
export interface LeaderDutiesOptions {
  /** A server whose heartbeats stop this long is removed. */
  leaseMs: number;
  /** A server whose watch stream closed and did not reopen this long is removed (sooner than its lease). */
  suspectMs: number;
  /** After this node is ready to lead, wait this long before publishing slot tables. */
  warmupMs: number;
  /**
   * Extra time a new leader gives every known server on top of a fresh lease: servers need a moment to find
   * the new leader (a call to the old one may have to time out first, then a follower names the leader,
   * then the next heartbeat). Default 2,000 ms.
   */
  takeoverGraceMs?: number;
  slotCount: number;
  replicas: number;
  /**
   * Computes the next table for the live data servers after `prev` (pure). Default: consistent-hash's `arrange`
   * with `slotCount` and `replicas`; the meta shell passes its `HashRing`'s, configured the same way.
   */
  arrange?: SlotArranger;
}

/** The next slot table for `live` (sorted addresses) after `prev`; returns `prev` itself when nothing moves. */
export type SlotArranger = (prev: ArrangedTable | undefined, live: readonly string[]) => ArrangedTable;

/**
 * Where a meta node stands as leader:
 * ```
 *  follower ──elected()──► catching-up ──caughtUp()──► leading
 *     ▲                         │                         │
 *     └───────deposed()─────────┴─────────────────────────┘
 * ```
 * `catching-up`: Raft made this node leader but its state may miss entries committed by the previous leader;
 * it serves nothing that depends on the state (no slot table, no evictions) until a read barrier says it
 * holds everything committed.
 */
export type LeaderPhase = 'follower' | 'catching-up' | 'leading';

/** Why a command was proposed (for logs and metrics). */
export type LeaderAction =
  | { kind: 'evict'; address: string; role: 'data' | 'session'; cmd: MetaCommand }
  | { kind: 'arrange'; epoch: number; cmd: MetaCommand };

/**
 * The meta leader's decisions, pure (time is passed in; no I/O): leases of session and data servers (in
 * memory, never replicated: a heartbeat every second is not a Raft write), which servers to evict, and when
 * to publish a new slot table. The shell ({@link MetaService}, or the simulator) proposes what it returns and
 * reports back with {@link settled}.
 *
 * Contracts:
 * - A new leader gives every known server a fresh lease (plus `takeoverGraceMs`) when it has caught up,
 *   before it evicts anyone; a server registered later (by an entry applied afterwards) gets its lease when first
 *   seen in the state.
 * - At most one slot table and one removal per server are in flight at a time; a lost proposal is retried
 *   at the next tick.
 * - A slot table is arranged only `warmupMs` after this node started leading and while no removal is in
 *   flight, over the data servers registered in the state; it is proposed as a compare-and-set on the
 *   current epoch and data servers (see `setSlotTable`), so a table committed after a concurrent change is
 *   ignored and arranged again.
 */
export class LeaderDuties {
  private readonly leases: LeaseTable;
  private phase: LeaderPhase = 'follower';
  private since = 0;
  private arranging: number | undefined;
  /** The last table arrange kept as it was, and the live servers it was kept for. */
  private kept: { table: unknown; live: string } | undefined;
  private readonly evicting = new Set<string>();
  private readonly registering = new Map<string, string>();

  constructor(private readonly options: LeaderDutiesOptions) {
    this.leases = new LeaseTable(options.leaseMs);
  }

  /** The current phase. */
  get state(): LeaderPhase {
    return this.phase;
  }

  /** Whether this node leads and holds everything committed: it may serve the state and act on it. */
  get ready(): boolean {
    return this.phase === 'leading';
  }

  /** When this node started leading (caught up), or 0. */
  get leadingSince(): number {
    return this.phase === 'leading' ? this.since : 0;
  }

  /** Raft made this node leader: catch up before acting. Forgets leases and in-flight proposals. */
  elected(): void {
    this.phase = 'catching-up';
    this.reset();
  }

  /**
   * The read barrier passed: `state` holds everything committed. Every known server gets a fresh lease
   * from `nowMs`. Ignored unless catching up (leadership may have moved on meanwhile).
   */
  caughtUp(state: MetaStateValue, nowMs: number): boolean {
    if (this.phase !== 'catching-up') return false;
    this.phase = 'leading';
    this.since = nowMs;
    this.leases.renewAll(knownServers(state), nowMs + (this.options.takeoverGraceMs ?? 2_000));
    return true;
  }

  /** This node no longer leads. */
  deposed(): void {
    this.phase = 'follower';
    this.reset();
  }

  private reset(): void {
    this.leases.renewAll([], 0);
    this.arranging = undefined;
    this.evicting.clear();
    this.registering.clear();
  }

  /**
   * A heartbeat from `node`: renews its lease and returns the registration to propose when the state does
   * not hold it yet (or holds an older process of it), unless one is already in flight.
   */
  heartbeat(node: NodeInfo, state: MetaStateValue, nowMs: number): MetaCommand | undefined {
    this.leases.renew(node.address, nowMs);
    const known = (node.role === 'data' ? state.dataNodes : state.sessionNodes)[node.address];
    if (known && known.processId === node.processId) return undefined;
    if (this.registering.get(node.address) === node.processId) return undefined;
    this.registering.set(node.address, node.processId);
    return { type: 'registerNode', node };
  }

  /** A server's watch stream opened: back to its normal lease. */
  watchOpened(address: string): void {
    this.leases.clearSuspect(address);
  }

  /** A server's watch stream closed: it is removed after `suspectMs` unless it watches again. */
  watchClosed(address: string, nowMs: number): void {
    this.leases.suspect(address, nowMs, this.options.suspectMs);
  }

  /** A server leaves gracefully: forget its lease; returns the removal to propose (when known). */
  leave(node: { address: string; role: string }, state: MetaStateValue): MetaCommand | undefined {
    this.leases.forget(node.address);
    const nodes = node.role === 'data' ? state.dataNodes : node.role === 'session' ? state.sessionNodes : {};
    if (!nodes[node.address]) return undefined;
    return { type: 'removeNode', role: node.role, address: node.address };
  }

  /**
   * What to propose now: removals of servers whose lease ran out (oldest first), then at most one slot
   * table. Call it periodically (e.g. every 250 ms) and after changes are applied.
   */
  tick(state: MetaStateValue, nowMs: number): LeaderAction[] {
    if (this.phase !== 'leading') return [];
    const known = new Set(knownServers(state));
    for (const a of known) if (!this.leases.has(a)) this.leases.renew(a, nowMs);
    const out: LeaderAction[] = [];
    for (const address of this.leases.expired(nowMs)) {
      if (!known.has(address)) {
        this.leases.forget(address);
        this.evicting.delete(address);
        continue;
      }
      if (this.evicting.has(address)) continue;
      this.evicting.add(address);
      const role = state.dataNodes[address] ? 'data' : 'session';
      out.push({ kind: 'evict', address, role, cmd: { type: 'removeNode', role, address } });
    }
    for (const a of this.evicting) if (!known.has(a)) this.evicting.delete(a);
    for (const [a] of this.registering) {
      const n = state.dataNodes[a] ?? state.sessionNodes[a];
      if (n && n.processId === this.registering.get(a)) this.registering.delete(a);
    }
    const arrangement = this.arrangement(state, nowMs);
    if (arrangement) out.push(arrangement);
    return out;
  }

  private arrangement(state: MetaStateValue, nowMs: number): LeaderAction | undefined {
    if (this.arranging !== undefined || this.evicting.size > 0) return undefined;
    if (nowMs - this.since < this.options.warmupMs) return undefined;
    const live = liveDataServers(state);
    if (live.length === 0) return undefined;
    const prev = state.slotTable as ArrangedTable | undefined;
    const { slotCount, replicas } = this.options;
    if (prev && (prev.slotCount !== slotCount || prev.replicas !== replicas)) return undefined;
    // arrange is a pure function of (table, live servers): once it kept a table, it keeps it until either
    // changes, so the tick every 100 ms does not re-run it (0.2-0.5 s at 65,536 slots).
    const liveKey = live.join('\n');
    if (prev && this.kept?.table === prev && this.kept.live === liveKey) return undefined;
    const next = this.options.arrange
      ? this.options.arrange(prev, live)
      : arrange(prev, live, { slotCount: this.options.slotCount, replicas: this.options.replicas });
    if (next === prev) {
      this.kept = { table: prev, live: liveKey };
      return undefined;
    }
    this.arranging = next.epoch;
    const cmd: MetaCommand = { type: 'setSlotTable', table: toWireTable(next), prevEpoch: prev?.epoch ?? 0, live };
    return { kind: 'arrange', epoch: next.epoch, cmd };
  }

  /** A proposal returned by {@link tick} or {@link heartbeat} finished (committed and applied, or failed). */
  settled(cmd: MetaCommand): void {
    if (cmd.type === 'setSlotTable' && this.arranging === cmd.table.epoch) this.arranging = undefined;
    else if (cmd.type === 'removeNode') this.evicting.delete(cmd.address);
    else if (cmd.type === 'registerNode' && this.registering.get(cmd.node.address) === cmd.node.processId) {
      this.registering.delete(cmd.node.address);
    }
  }
}

/** The wire (protobuf) form of a slot table from `arrange`. */
export function toWireTable(t: ArrangedTable): SlotTable {
  return {
    epoch: t.epoch,
    slotCount: t.slotCount,
    replicas: t.replicas,
    slots: t.slots.map((s) => ({
      id: s.id,
      leader: s.leader,
      leaderEpoch: s.leaderEpoch,
      followers: [...s.followers],
    })),
  };
}
