import type { RaftEntry, RaftMessage } from '@sofareg/contracts';
import { type Entry, type Message, MessageType, type Snapshot } from '../core';

const EMPTY = Buffer.alloc(0);

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function entryToProto(e: Entry): RaftEntry {
  return { term: e.term, index: e.index, type: e.type, data: toBuffer(e.data) };
}

/**
 * Maps a core {@link Message} to its protobuf form. A Snap message's snapshot data is left out (it travels
 * in chunks, see `RaftTransport.SendSnapshot`); only its metadata goes here.
 */
export function messageToProto(m: Message): RaftMessage {
  const s = m.snapshot;
  return {
    type: m.type as number,
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.length === 0 ? [] : m.entries.map(entryToProto),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    snapshotMeta: s
      ? {
          index: s.meta.index,
          term: s.meta.term,
          conf: { voters: [...s.meta.conf.voters], learners: [...s.meta.conf.learners] },
        }
      : undefined,
    context: m.context && m.context.length > 0 ? toBuffer(m.context) : EMPTY,
  };
}

/**
 * Maps a received protobuf message back to a core {@link Message}; `snapshotData` completes a Snap message.
 * Returns undefined for a type the core does not know (a newer peer), which the caller counts and drops.
 */
export function messageFromProto(p: RaftMessage, snapshotData?: Uint8Array): Message | undefined {
  if (!(p.type >= MessageType.Hup && p.type <= MessageType.TransferLeader)) return undefined;
  const m: Message = {
    type: p.type as number as MessageType,
    from: p.from,
    to: p.to,
    term: p.term,
    logTerm: p.logTerm,
    index: p.index,
    entries:
      p.entries.length === 0
        ? []
        : p.entries.map((e) => ({ term: e.term, index: e.index, type: e.type, data: e.data })),
    commit: p.commit,
    reject: p.reject,
    rejectHint: p.rejectHint,
  };
  if (p.context.length > 0) m.context = p.context;
  if (p.snapshotMeta) {
    const conf = p.snapshotMeta.conf ?? { voters: [], learners: [] };
    const snap: Snapshot = {
      meta: {
        index: p.snapshotMeta.index,
        term: p.snapshotMeta.term,
        conf: { voters: [...conf.voters], learners: [...conf.learners] },
      },
      data: snapshotData ?? new Uint8Array(0),
    };
    m.snapshot = snap;
  }
  return m;
}
