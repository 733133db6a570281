import type {
  ErrorInfo,
  HeartbeatRequest,
  HeartbeatResponse,
  ListNodesResponse,
  MetaEvent,
  SlotSettings,
  SlotTable,
} from '@sofareg/contracts';
import type { MetaChange, MetaStateValue } from './meta-state';

/**
 * What meta answers to session and data servers, pure: the shell (MetaService, or the simulation) asks these
 * functions for the answer and only does the I/O. `leader` is the leader's client address ('' when unknown).
 */

/** A `NotLeader` answer to a heartbeat: retry at `leader` (or at another meta server when ''). */
export function notLeaderAnswer(leader: string, leaseMs: number): HeartbeatResponse {
  return {
    ok: false,
    error: notLeaderError(leader, `not the meta leader; retry at ${leader || 'another meta server'}`),
    slotTableEpoch: 0,
    slotTable: undefined,
    leader,
    leaseMs,
  };
}

/** The `NotLeader` error a follower answers with (also the last event of a watch stream it ends). */
export function notLeaderError(leader: string, message = 'not the meta leader'): ErrorInfo {
  return { code: 'NotLeader', message, field: '', leader };
}

/**
 * Why a heartbeat is refused before it renews anything, or undefined when it is acceptable: a node without
 * address or with a role other than data|session (`InvalidArgument`), or a data server whose slot settings
 * differ from the cluster's (`SlotSettingsMismatch`: its keys would hash to other slots).
 */
export function refuseHeartbeat(req: HeartbeatRequest, cluster: SlotSettings): ErrorInfo | undefined {
  const node = req.node;
  if (!node || !node.address || (node.role !== 'data' && node.role !== 'session')) {
    const message = 'node.address and node.role (data|session) are required';
    return { code: 'InvalidArgument', message, field: 'node', leader: '' };
  }
  const theirs = req.slotSettings;
  if (node.role !== 'data' || !theirs) return undefined;
  if (theirs.slotCount === cluster.slotCount && theirs.replicas === cluster.replicas && theirs.hash === cluster.hash) {
    return undefined;
  }
  return {
    code: 'SlotSettingsMismatch',
    message:
      `slot settings differ from the cluster's: server has slots=${theirs.slotCount} replicas=${theirs.replicas} ` +
      `hash=${theirs.hash}, meta has slots=${cluster.slotCount} replicas=${cluster.replicas} hash=${cluster.hash}`,
    field: 'slotSettings',
    leader: '',
  };
}

/** A refusal as a heartbeat answer. */
export function refusedAnswer(error: ErrorInfo, leaseMs: number): HeartbeatResponse {
  return { ...notLeaderAnswer('', leaseMs), error };
}

/**
 * A heartbeat accepted by the leader. `table` is the table it may serve (undefined while catching up); it is
 * sent only when newer than the epoch the server holds, so what a server receives never goes back.
 */
export function heartbeatAnswer(
  table: SlotTable | undefined,
  heldEpoch: number,
  leader: string,
  leaseMs: number,
): HeartbeatResponse {
  return {
    ok: true,
    error: undefined,
    slotTableEpoch: table?.epoch ?? 0,
    slotTable: table && table.epoch > heldEpoch ? table : undefined,
    leader,
    leaseMs,
  };
}

/** The registered servers of `role` (data|session; none for another role), sorted by address. */
export function listNodes(state: MetaStateValue, role: string, leader: string): ListNodesResponse {
  const nodes = role === 'data' ? state.dataNodes : role === 'session' ? state.sessionNodes : {};
  return { nodes: Object.values(nodes).sort((a, b) => a.address.localeCompare(b.address)), version: 0, leader };
}

/**
 * What a new watcher is sent first: the table (only when newer than `heldEpoch`), both node lists and every
 * provide-data value. After these, {@link changeEvents} of every applied change follow on the same stream.
 */
export function initialWatchEvents(state: MetaStateValue, heldEpoch: number, leader: string): MetaEvent[] {
  const out: MetaEvent[] = [];
  if (state.slotTable && state.slotTable.epoch > heldEpoch) {
    out.push({ event: { $case: 'slotTable', value: state.slotTable } });
  }
  out.push({ event: { $case: 'dataNodes', value: listNodes(state, 'data', leader) } });
  out.push({ event: { $case: 'sessionNodes', value: listNodes(state, 'session', leader) } });
  for (const pd of Object.values(state.provideData)) out.push({ event: { $case: 'provideData', value: pd } });
  return out;
}

/** The watch events of applied changes, in their order (`state` is the state after them). */
export function changeEvents(state: MetaStateValue, changes: readonly MetaChange[], leader: string): MetaEvent[] {
  const out: MetaEvent[] = [];
  for (const c of changes) {
    if (c.kind === 'slotTable' && state.slotTable) out.push({ event: { $case: 'slotTable', value: state.slotTable } });
    else if (c.kind === 'dataNodes') {
      out.push({ event: { $case: 'dataNodes', value: listNodes(state, 'data', leader) } });
    } else if (c.kind === 'sessionNodes') {
      out.push({ event: { $case: 'sessionNodes', value: listNodes(state, 'session', leader) } });
    } else if (c.kind === 'provideData') {
      const pd = state.provideData[c.key];
      if (pd) out.push({ event: { $case: 'provideData', value: pd } });
    }
  }
  return out;
}
