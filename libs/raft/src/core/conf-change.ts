import { RaftError } from './errors';
import { ConfChange, ConfChangeType, ConfState, NodeId } from './types';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Encodes a membership change as the `data` of a ConfChange entry: one byte of type, two bytes of node id
 * length (big endian), the UTF-8 node id, then the optional context bytes.
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = enc.encode(cc.nodeId);
  if (id.length > 0xffff) throw new RaftError('ContractViolation', 'node id longer than 65535 bytes');
  const ctx = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(3 + id.length + ctx.length);
  out[0] = cc.type;
  out[1] = id.length >> 8;
  out[2] = id.length & 0xff;
  out.set(id, 3);
  out.set(ctx, 3 + id.length);
  return out;
}

/** Decodes what {@link encodeConfChange} wrote. Throws RaftError `Invariant` on malformed data. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 3 || data[0] > ConfChangeType.RemoveNode) {
    throw new RaftError('Invariant', 'malformed conf change entry');
  }
  const n = (data[1] << 8) | data[2];
  if (data.length < 3 + n) throw new RaftError('Invariant', 'malformed conf change entry');
  const cc: ConfChange = { type: data[0] as ConfChangeType, nodeId: dec.decode(data.subarray(3, 3 + n)) };
  if (data.length > 3 + n) cc.context = data.slice(3 + n);
  return cc;
}

/** The membership that results from applying `cc` to `cs` (a new object; `cs` is not modified). */
export function applyConfChangeTo(cs: ConfState, cc: ConfChange): ConfState {
  const voters = cs.voters.filter((v) => v !== cc.nodeId);
  const learners = cs.learners.filter((v) => v !== cc.nodeId);
  if (cc.type === ConfChangeType.AddVoter) voters.push(cc.nodeId);
  else if (cc.type === ConfChangeType.AddLearner) learners.push(cc.nodeId);
  voters.sort();
  learners.sort();
  return { voters, learners };
}

/** A deep copy of a membership. */
export function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}

/** Every member, voters first. */
export function confMembers(cs: ConfState): NodeId[] {
  return [...cs.voters, ...cs.learners];
}

/** Equality of memberships (order-insensitive). */
export function confStateEqual(a: ConfState, b: ConfState): boolean {
  const sa = [...a.voters].sort().join('\u0000') + '|' + [...a.learners].sort().join('\u0000');
  const sb = [...b.voters].sort().join('\u0000') + '|' + [...b.learners].sort().join('\u0000');
  return sa === sb;
}
