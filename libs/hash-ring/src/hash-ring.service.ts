import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type ArrangeOptions, type SlotTable, arrange, slotOf } from '@sofareg/consistent-hash';
import { Observable, ReplaySubject } from 'rxjs';
import { type HashRingModuleOptions, type HashRingSettings, resolveHashRingOptions } from './hash-ring-options';
import { HASH_RING_OPTIONS } from './hash-ring.tokens';
import {
  type SlotRoles,
  followersOfSlot,
  frozenTable,
  isNewerTable,
  leaderOfSlot,
  replicasOfSlot,
  rolesOf,
} from './slot-lookup';

/**
 * The process's view of the slot table: the current table (an immutable value, deeply frozen) and its epoch,
 * lookups on it, and its changes. Tables only move forward: `update` ignores a table that is not newer.
 * Session routes with it, data derives its slot roles from it, meta arranges the next table with it.
 * Constructible without Nest (`new HashRing({ slots, replicas })`) for simulations and tests.
 */
@Injectable()
export class HashRing implements OnModuleDestroy {
  /** The configured slots and replicas (validated, frozen). */
  readonly settings: HashRingSettings;
  private current: SlotTable | undefined;
  private readonly tables = new ReplaySubject<SlotTable>(1);
  /** Every table the ring accepts, in epoch order; a new subscriber first gets the current one (if any). */
  readonly changes: Observable<SlotTable> = this.tables.asObservable();

  constructor(@Inject(HASH_RING_OPTIONS) options: HashRingModuleOptions = {}) {
    this.settings = resolveHashRingOptions(options);
  }

  /** The current table, or undefined before the first. */
  get table(): SlotTable | undefined {
    return this.current;
  }

  /** The current table's epoch; 0 before the first table. */
  get epoch(): number {
    return this.current?.epoch ?? 0;
  }

  /** The current table's slot count, else the configured one. */
  get slotCount(): number {
    return this.current?.slotCount ?? this.settings.slots;
  }

  /**
   * Makes `table` current when its epoch is newer than the current one, and emits it on `changes`.
   * Returns whether it changed; an equal or older epoch is ignored (a late or repeated delivery).
   */
  update(table: SlotTable): boolean {
    if (!isNewerTable(this.current, table)) return false;
    this.current = frozenTable(table);
    this.tables.next(this.current);
    return true;
  }

  /** The slot of a dataInfoId under the current table's slot count (the configured one before a table). */
  slotOf(dataInfoId: string): number {
    return slotOf(dataInfoId, this.slotCount);
  }

  /** The server leading `slot`, or undefined (no table yet, slot out of range, or no live leader). */
  leaderOf(slot: number): string | undefined {
    return leaderOfSlot(this.current, slot);
  }

  /** The servers following `slot`. */
  followersOf(slot: number): readonly string[] {
    return followersOfSlot(this.current, slot);
  }

  /** Every server holding `slot`, leader first. */
  replicasOf(slot: number): string[] {
    return replicasOfSlot(this.current, slot);
  }

  /** The slots `address` leads and follows in the current table. */
  rolesOf(address: string): SlotRoles {
    return rolesOf(this.current, address);
  }

  /**
   * The next table for `live` servers after `prev` (consistent-hash's `arrange` with the configured slots and
   * replicas). Pure: it does not make the result current (meta commits it first, then calls `update`).
   * @throws ConsistentHashError for a malformed `prev` or `live` (see `arrange`).
   */
  arrange(
    prev: SlotTable | undefined,
    live: readonly string[],
    options: Pick<ArrangeOptions, 'caughtUp'> = {},
  ): SlotTable {
    return arrange(prev, live, { slotCount: this.settings.slots, replicas: this.settings.replicas, ...options });
  }

  /** Completes `changes`; Nest calls it on `app.close()`. */
  onModuleDestroy(): void {
    this.tables.complete();
  }
}
