import type { NodeId } from '../core';
import { RaftNodeError } from './errors';

/**
 * What the shell stores in `Snapshot.data`: the state machine's bytes plus the shell's own replicated state
 * (the addresses of members added at run time, which the snapshot's ConfState does not carry), so a node
 * restored from a snapshot can still reach every member.
 *
 * Layout: magic "SRSE" | u8 version (1) | u32 BE length of the JSON of `addresses` | JSON | state machine bytes.
 */
export interface SnapshotEnvelope {
  addresses: Record<NodeId, string>;
  data: Uint8Array;
}

const MAGIC = [0x53, 0x52, 0x53, 0x45]; // "SRSE"
const VERSION = 1;
const HEADER = 9;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes an envelope (see {@link SnapshotEnvelope} for the layout). */
export function encodeSnapshotEnvelope(e: SnapshotEnvelope): Uint8Array {
  const json = enc.encode(JSON.stringify(e.addresses));
  const out = new Uint8Array(HEADER + json.length + e.data.length);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(5, json.length);
  out.set(json, HEADER);
  out.set(e.data, HEADER + json.length);
  return out;
}

/**
 * Decodes an envelope. The empty snapshot of a new node (no bytes) decodes as no addresses and no data.
 * Throws RaftNodeError `Failed` when the bytes are not an envelope (a snapshot from another program).
 */
export function decodeSnapshotEnvelope(b: Uint8Array): SnapshotEnvelope {
  if (b.length === 0) return { addresses: {}, data: b };
  const bad = (why: string) =>
    new RaftNodeError('Failed', `snapshot data is not a Raft shell snapshot envelope: ${why}`);
  if (b.length < HEADER || MAGIC.some((m, i) => b[i] !== m)) throw bad('wrong magic number');
  if (b[4] !== VERSION) throw bad(`version ${b[4]} is not supported`);
  const n = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(5);
  if (HEADER + n > b.length) throw bad('truncated address table');
  let addresses: Record<NodeId, string>;
  try {
    addresses = JSON.parse(dec.decode(b.subarray(HEADER, HEADER + n))) as Record<NodeId, string>;
  } catch (e) {
    throw bad(`address table is not JSON (${(e as Error).message})`);
  }
  return { addresses, data: b.subarray(HEADER + n) };
}
