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
    let e = this.datums.get(dataInfoId);
    if (!e) {
      e = { dataInfoId, version: 0, publishers: new Map(), tombstones: new Map() };
      this.datums.set(dataInfoId, e);
    }
    return e;
  }

  /** Adds or replaces a publisher, unless an equal or newer write of its registerId is already known. */
  publish(p: Publisher, nowMs: number): WriteOutcome {
    const e = this.entry(p.dataInfoId);
    const prev = e.publishers.get(p.registerId);
    const stale = (prev && compareStamps(p, prev) <= 0) || (() => {
      const t = e.tombstones.get(p.registerId);
      return t !== undefined && compareStamps(p, t) <= 0;
    })();
    if (stale) return { applied: false, changed: false, version: e.version };
    e.tombstones.delete(p.registerId);
    e.publishers.set(p.registerId, p);
    if (!prev) this.publisherCount++;
    if (prev && sameContent(prev, p)) return { applied: true, changed: false, version: e.version };
    e.version = nextDatumVersion(e.version, nowMs);
    return { applied: true, changed: true, version: e.version };
  }

  /** Removes a publisher and leaves a tombstone, unless a newer write of its registerId is known. */
  unpublish(dataInfoId: string, registerId: string, stamp: RegistrationStamp, sessionAddress: string, nowMs: number): WriteOutcome {
    const e = this.entry(dataInfoId);
    const prev = e.publishers.get(registerId);
    const tomb = e.tombstones.get(registerId);
    if ((prev && compareStamps(stamp, prev) < 0) || (tomb && compareStamps(stamp, tomb) <= 0)) {
      return { applied: false, changed: false, version: e.version };
    }
    e.tombstones.set(registerId, { version: stamp.version, registerTimestamp: stamp.registerTimestamp, sessionAddress, at: nowMs });
    if (!prev) return { applied: true, changed: false, version: e.version };
    e.publishers.delete(registerId);
    this.publisherCount--;
    e.version = nextDatumVersion(e.version, nowMs);
    return { applied: true, changed: true, version: e.version };
  }

  /** Removes the given publishers of one datum without tombstones; returns the new version when any went. */
  remove(dataInfoId: string, registerIds: Iterable<string>, nowMs: number): WriteOutcome {
    const e = this.datums.get(dataInfoId);
    if (!e) return { applied: false, changed: false, version: 0 };
    let removed = false;
    for (const id of registerIds) {
      if (e.publishers.delete(id)) {
        this.publisherCount--;
        removed = true;
      }
    }
    if (!removed) return { applied: false, changed: false, version: e.version };
    e.version = nextDatumVersion(e.version, nowMs);
    return { applied: true, changed: true, version: e.version };
  }

  /** Raises a datum's version to at least `version` (a version some session has already seen). */
  raiseVersion(dataInfoId: string, version: number, nowMs: number): WriteOutcome {
    const e = this.entry(dataInfoId);
    if (e.version > version) return { applied: false, changed: false, version: e.version };
    e.version = nextDatumVersion(version, nowMs);
    return { applied: true, changed: true, version: e.version };
  }

  /**
   * Applies an op exactly as the slot leader did, taking the leader's resulting version (a follower's copy
   * must be the leader's, not a recomputation).
   */
  applyReplica(
    dataInfoId: string,
    op: { kind: 'publish'; publisher: Publisher } | { kind: 'unpublish'; registerId: string; stamp: RegistrationStamp; sessionAddress: string; at: number } | { kind: 'remove'; registerIds: string[] },
    version: number,
  ): void {
    const e = this.entry(dataInfoId);
    if (op.kind === 'publish') {
      if (!e.publishers.has(op.publisher.registerId)) this.publisherCount++;
      e.publishers.set(op.publisher.registerId, op.publisher);
      e.tombstones.delete(op.publisher.registerId);
    } else if (op.kind === 'unpublish') {
      if (e.publishers.delete(op.registerId)) this.publisherCount--;
      e.tombstones.set(op.registerId, { ...op.stamp, sessionAddress: op.sessionAddress, at: op.at });
    } else {
      for (const id of op.registerIds) if (e.publishers.delete(id)) this.publisherCount--;
    }
    e.version = version;
  }

  /** Replaces everything with the given datums (a follower installing the leader's snapshot). */
  load(datums: Iterable<{ dataInfoId: string; version: number; publishers: Publisher[] }>): void {
    this.datums.clear();
    this.publisherCount = 0;
    for (const d of datums) {
      const e = this.entry(d.dataInfoId);
      e.version = d.version;
      for (const p of d.publishers) e.publishers.set(p.registerId, p);
      this.publisherCount += e.publishers.size;
    }
  }

  /**
   * Removes every publisher matching `predicate` (a client-off, or a dead session's publishers). No tombstone:
   * a later re-registration of the same registerId through another session must be accepted.
   * Returns the dataInfoIds that changed, with their new versions.
   */
  removeWhere(predicate: (p: Publisher) => boolean, nowMs: number): Map<string, number> {
    const changed = new Map<string, number>();
    for (const e of this.datums.values()) {
      let removed = false;
      for (const [id, p] of e.publishers) {
        if (predicate(p)) {
          e.publishers.delete(id);
          this.publisherCount--;
          removed = true;
        }
      }
      if (removed) {
        e.version = nextDatumVersion(e.version, nowMs);
        changed.set(e.dataInfoId, e.version);
      }
    }
    return changed;
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
