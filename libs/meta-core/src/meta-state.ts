import type { NodeInfo, ProvideData, SlotTable } from '@sofareg/contracts';

/** The slot settings of a cluster; fixed at its first start. */
export interface SlotSettingsValue {
  slotCount: number;
  replicas: number;
  hash: string;
}

/** Everything the meta cluster replicates. Immutable: `applyMetaCommand` returns a new value. */
export interface MetaStateValue {
  readonly dataNodes: Readonly<Record<string, NodeInfo>>;
  readonly sessionNodes: Readonly<Record<string, NodeInfo>>;
  readonly slotTable: SlotTable | undefined;
  readonly provideData: Readonly<Record<string, ProvideData>>;
}

/** A replicated change. Serialized as JSON into the replicated log. */
export type MetaCommand =
  | { type: 'registerNode'; node: NodeInfo }
  | { type: 'removeNode'; role: string; address: string }
  /**
   * Publishes a slot table. `prevEpoch` and `live` (the sorted data servers it was arranged for) make it a
   * compare-and-set: it applies only if the current table's epoch is still `prevEpoch` (0: none) and the
   * registered data servers are still exactly `live`; otherwise the leader arranges again. Without them
   * (older entries), only the epoch must grow.
   */
  | { type: 'setSlotTable'; table: SlotTable; prevEpoch?: number; live?: string[] }
  | { type: 'putProvideData'; key: string; value: string }
  | { type: 'removeProvideData'; key: string }
  /** Adds and removes items of a comma-separated list value (IP lists), applied in the log's order. */
  | { type: 'editProvideDataList'; key: string; add: string[]; remove: string[] };

/** What an applied command changed, for watchers. */
export type MetaChange =
  { kind: 'dataNodes' } | { kind: 'sessionNodes' } | { kind: 'slotTable' } | { kind: 'provideData'; key: string };

export const EMPTY_META_STATE: MetaStateValue = Object.freeze({
  dataNodes: {},
  sessionNodes: {},
  slotTable: undefined,
  provideData: {},
});

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(b);
  return a.every((x) => set.has(x));
}

/** Every kind of change a whole state holds (what a restored snapshot may have changed). */
export function allChanges(state: MetaStateValue): MetaChange[] {
  return [
    { kind: 'dataNodes' },
    { kind: 'sessionNodes' },
    ...(state.slotTable ? [{ kind: 'slotTable' } as const] : []),
    ...Object.keys(state.provideData)
      .sort()
      .map((key) => ({ kind: 'provideData', key }) as const),
  ];
}

/** The data servers registered in `state`, sorted (what the slot table is arranged over). */
export function liveDataServers(state: MetaStateValue): string[] {
  return Object.keys(state.dataNodes).sort();
}

/** Every registered session and data server address. */
export function knownServers(state: MetaStateValue): string[] {
  return [...Object.keys(state.dataNodes), ...Object.keys(state.sessionNodes)];
}

function nodesKey(role: string): 'dataNodes' | 'sessionNodes' | undefined {
  return role === 'data' ? 'dataNodes' : role === 'session' ? 'sessionNodes' : undefined;
}

/**
 * Applies one command, deterministically (no clock, no randomness): the same log gives the same state on
 * every meta node. A slot table older than the current one is ignored, so epochs never go back. Deleting a
 * provide-data key keeps a tombstone value ('' with a higher version) so watchers see the removal.
 */
export function applyMetaCommand(
  state: MetaStateValue,
  cmd: MetaCommand,
): { state: MetaStateValue; changes: MetaChange[] } {
  switch (cmd.type) {
    case 'registerNode': {
      const key = nodesKey(cmd.node.role);
      if (!key) return { state, changes: [] };
      const prev = state[key][cmd.node.address];
      if (prev && JSON.stringify(prev) === JSON.stringify(cmd.node)) return { state, changes: [] };
      return { state: { ...state, [key]: { ...state[key], [cmd.node.address]: cmd.node } }, changes: [{ kind: key }] };
    }
    case 'removeNode': {
      const key = nodesKey(cmd.role);
      if (!key || !state[key][cmd.address]) return { state, changes: [] };
      const next = { ...state[key] };
      delete next[cmd.address];
      return { state: { ...state, [key]: next }, changes: [{ kind: key }] };
    }
    case 'setSlotTable': {
      if (state.slotTable && cmd.table.epoch <= state.slotTable.epoch) return { state, changes: [] };
      if (cmd.prevEpoch !== undefined && cmd.prevEpoch !== (state.slotTable?.epoch ?? 0)) return { state, changes: [] };
      if (cmd.live !== undefined && !sameMembers(cmd.live, Object.keys(state.dataNodes))) return { state, changes: [] };
      return { state: { ...state, slotTable: cmd.table }, changes: [{ kind: 'slotTable' }] };
    }
    case 'editProvideDataList': {
      const items = new Set(
        (state.provideData[cmd.key]?.value ?? '')
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      );
      for (const x of cmd.add) items.add(x);
      for (const x of cmd.remove) items.delete(x);
      return applyMetaCommand(state, { type: 'putProvideData', key: cmd.key, value: [...items].sort().join(',') });
    }
    case 'putProvideData':
    case 'removeProvideData': {
      const prev = state.provideData[cmd.key];
      const value = cmd.type === 'putProvideData' ? cmd.value : '';
      if (prev && prev.value === value) return { state, changes: [] };
      if (!prev && cmd.type === 'removeProvideData') return { state, changes: [] };
      const next: ProvideData = { key: cmd.key, value, version: (prev?.version ?? 0) + 1 };
      return {
        state: { ...state, provideData: { ...state.provideData, [cmd.key]: next } },
        changes: [{ kind: 'provideData', key: cmd.key }],
      };
    }
  }
}
