import type { Publisher } from '@sofareg/contracts';
import { RegistrationStamp, compareStamps, nextDatumVersion } from '@sofareg/model';

/** The last write of an unpublished registration, kept so a late older write cannot bring it back. */
export interface Tombstone extends RegistrationStamp {
  sessionAddress: string;
  /** When the tombstone was written (ms), for compaction. */
  at: number;
}

/** All publishers of one dataInfoId, with a version that changes only when their content does. */
export interface DatumEntry {
  readonly dataInfoId: string;
  version: number;
  readonly publishers: Map<string, Publisher>;
  readonly tombstones: Map<string, Tombstone>;
}

/**
 * The outcome of one write: whether it was applied (stored: a newer write of its registerId), whether the
 * datum's content changed, and the datum's version after it.
 */
export interface WriteOutcome {
  applied: boolean;
  changed: boolean;
  version: number;
}

function sameContent(a: Publisher, b: Publisher): boolean {
  if (a.zone !== b.zone || a.dataList.length !== b.dataList.length) return false;
  for (let i = 0; i < a.dataList.length; i++) if (a.dataList[i] !== b.dataList[i]) return false;
  return true;
}

/**
 * The publishers a data server holds, per dataInfoId. Pure (time is passed in). Two writes of one
 * registerId are ordered by (version, registerTimestamp) and the older is ignored, including against a
 * tombstone. A datum's version increases strictly ({@link nextDatumVersion}) and only when what subscribers
 * would see changes: an identical republish bumps nothing.
 */
export class DatumStore {
  private readonly datums = new Map<string, DatumEntry>();
  private publisherCount = 0;
  /** session → connectId → registerId → dataInfoId: client-offs and dead sessions without a full scan. */
  private readonly owners = new Map<string, Map<string, Map<string, string>>>();

  private put(e: DatumEntry, p: Publisher): Publisher | undefined {
    const prev = e.publishers.get(p.registerId);
    if (prev) this.unindex(prev);
    else this.publisherCount++;
    e.publishers.set(p.registerId, p);
    let bySession = this.owners.get(p.sessionAddress);
    if (!bySession) this.owners.set(p.sessionAddress, (bySession = new Map()));
    let byConn = bySession.get(p.connectId);
    if (!byConn) bySession.set(p.connectId, (byConn = new Map()));
    byConn.set(p.registerId, p.dataInfoId);
    return prev;
  }

  private drop(e: DatumEntry, registerId: string): boolean {
    const prev = e.publishers.get(registerId);
    if (!prev) return false;
    e.publishers.delete(registerId);
    this.publisherCount--;
    this.unindex(prev);
    return true;
  }

  private unindex(p: Publisher): void {
    const bySession = this.owners.get(p.sessionAddress);
    const byConn = bySession?.get(p.connectId);
    if (!bySession || !byConn) return;
    byConn.delete(p.registerId);
    if (byConn.size === 0) bySession.delete(p.connectId);
    if (bySession.size === 0) this.owners.delete(p.sessionAddress);
  }

  /** Sessions that own at least one publisher here. */
  sessions(): string[] {
    return [...this.owners.keys()];
  }

  /**
   * Publishers owned by the given connections of one session (all its connections when `connectIds` is
   * undefined), grouped by dataInfoId.
   */
  ownedBy(session: string, connectIds?: Iterable<string>): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const bySession = this.owners.get(session);
    if (!bySession) return out;
    const conns = connectIds ? [...connectIds].map((c) => bySession.get(c)) : [...bySession.values()];
    for (const byConn of conns) {
      if (!byConn) continue;
      for (const [registerId, dataInfoId] of byConn) {
        let l = out.get(dataInfoId);
        if (!l) out.set(dataInfoId, (l = []));
        l.push(registerId);
      }
    }
    return out;
  }

  get size(): number {
    return this.datums.size;
  }

  /** Publishers held, across every datum. */
  get publishers(): number {
    return this.publisherCount;
  }

  get(dataInfoId: string): DatumEntry | undefined {
    return this.datums.get(dataInfoId);
  }

  entries(): IterableIterator<DatumEntry> {
    return this.datums.values();
  }

  private entry(dataInfoId: string): DatumEntry {
    let entry = this.datums.get(dataInfoId);
    if (!entry) {
      entry = { dataInfoId, version: 0, publishers: new Map(), tombstones: new Map() };
      this.datums.set(dataInfoId, entry);
    }
    return entry;
  }

  /** Adds or replaces a publisher, unless an equal or newer write of its registerId is already known. */
  publish(p: Publisher, nowMs: number): WriteOutcome {
    const entry = this.entry(p.dataInfoId);
    const prev = entry.publishers.get(p.registerId);
    const stale =
      (prev && compareStamps(p, prev) <= 0) ||
      (() => {
        const tombstone = entry.tombstones.get(p.registerId);
        return tombstone !== undefined && compareStamps(p, tombstone) <= 0;
      })();
    if (stale) return { applied: false, changed: false, version: entry.version };
    entry.tombstones.delete(p.registerId);
    this.put(entry, p);
    if (prev && sameContent(prev, p)) return { applied: true, changed: false, version: entry.version };
    entry.version = nextDatumVersion(entry.version, nowMs);
    return { applied: true, changed: true, version: entry.version };
  }

  /** Removes a publisher and leaves a tombstone, unless a newer write of its registerId is known. */
  unpublish(
    dataInfoId: string,
    registerId: string,
    stamp: RegistrationStamp,
    sessionAddress: string,
    nowMs: number,
  ): WriteOutcome {
    const entry = this.entry(dataInfoId);
    const prev = entry.publishers.get(registerId);
    const tomb = entry.tombstones.get(registerId);
    if ((prev && compareStamps(stamp, prev) < 0) || (tomb && compareStamps(stamp, tomb) <= 0)) {
      return { applied: false, changed: false, version: entry.version };
    }
    const { version, registerTimestamp } = stamp;
    entry.tombstones.set(registerId, { version, registerTimestamp, sessionAddress, at: nowMs });
    if (!prev) return { applied: true, changed: false, version: entry.version };
    this.drop(entry, registerId);
    entry.version = nextDatumVersion(entry.version, nowMs);
    return { applied: true, changed: true, version: entry.version };
  }

  /** Removes the given publishers of one datum without tombstones; returns the new version when any went. */
  remove(dataInfoId: string, registerIds: Iterable<string>, nowMs: number): WriteOutcome {
    const entry = this.datums.get(dataInfoId);
    if (!entry) return { applied: false, changed: false, version: 0 };
    let removed = false;
    for (const id of registerIds) if (this.drop(entry, id)) removed = true;
    if (!removed) return { applied: false, changed: false, version: entry.version };
    entry.version = nextDatumVersion(entry.version, nowMs);
    return { applied: true, changed: true, version: entry.version };
  }

  /** Raises a datum's version to at least `version` (a version some session has already seen). */
  raiseVersion(dataInfoId: string, version: number, nowMs: number): WriteOutcome {
    const entry = this.entry(dataInfoId);
    if (entry.version > version) return { applied: false, changed: false, version: entry.version };
    entry.version = nextDatumVersion(version, nowMs);
    return { applied: true, changed: true, version: entry.version };
  }

  /**
   * Applies an op exactly as the slot leader did, taking the leader's resulting version (a follower's copy
   * must be the leader's, not a recomputation).
   */
  applyReplica(
    dataInfoId: string,
    op:
      | { kind: 'publish'; publisher: Publisher }
      | { kind: 'unpublish'; registerId: string; stamp: RegistrationStamp; sessionAddress: string; at: number }
      | { kind: 'remove'; registerIds: string[] },
    version: number,
  ): void {
    const entry = this.entry(dataInfoId);
    if (op.kind === 'publish') {
      this.put(entry, op.publisher);
      entry.tombstones.delete(op.publisher.registerId);
    } else if (op.kind === 'unpublish') {
      this.drop(entry, op.registerId);
      entry.tombstones.set(op.registerId, { ...op.stamp, sessionAddress: op.sessionAddress, at: op.at });
    } else {
      for (const id of op.registerIds) this.drop(entry, id);
    }
    entry.version = version;
  }

  /** Replaces everything with the given datums (a follower installing the leader's snapshot). */
  load(datums: Iterable<{ dataInfoId: string; version: number; publishers: Publisher[] }>): void {
    this.datums.clear();
    this.owners.clear();
    this.publisherCount = 0;
    for (const d of datums) {
      const entry = this.entry(d.dataInfoId);
      entry.version = d.version;
      for (const p of d.publishers) this.put(entry, p);
    }
  }

  /** Drops tombstones written before `beforeMs`, and datums left with nothing. Returns how many went. */
  compactTombstones(beforeMs: number): number {
    let n = 0;
    for (const [key, e] of this.datums) {
      for (const [id, t] of e.tombstones) {
        if (t.at < beforeMs) {
          e.tombstones.delete(id);
          n++;
        }
      }
      if (e.publishers.size === 0 && e.tombstones.size === 0 && e.version === 0) this.datums.delete(key);
    }
    return n;
  }
}
