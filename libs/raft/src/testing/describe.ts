import {
  ConfChangeType,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  Ready,
  Snapshot,
  SoftState,
  decodeConfChange,
} from '../core';

const text = new TextDecoder();

/** Printable form of opaque bytes: the UTF-8 text when printable, else hex. */
export function describeBytes(b: Uint8Array | undefined): string {
  if (!b || b.length === 0) return '""';
  const s = text.decode(b);
  if (/^[\x20-\x7e]*$/.test(s)) return JSON.stringify(s);
  return '0x' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** `v4`, `l4`, `r4`: a membership change in the scripts' short syntax. */
export function describeConfChangeData(data: Uint8Array): string {
  const cc = decodeConfChange(data);
  const p = cc.type === ConfChangeType.AddVoter ? 'v' : cc.type === ConfChangeType.AddLearner ? 'l' : 'r';
  return p + cc.nodeId;
}

/** `term/index Kind data`. */
export function describeEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) return `${e.term}/${e.index} EntryConfChange ${describeConfChangeData(e.data)}`;
  return `${e.term}/${e.index} EntryNormal ${describeBytes(e.data)}`;
}

export function describeSnapshot(s: Snapshot): string {
  const c = s.meta.conf;
  return `Index:${s.meta.index} Term:${s.meta.term} Voters:[${c.voters.join(' ')}] Learners:[${c.learners.join(' ')}]`;
}

export function describeHardState(h: HardState): string {
  return `HardState Term:${h.term} Vote:${h.vote || '-'} Commit:${h.commit}`;
}

export function describeSoftState(s: SoftState): string {
  return `Lead:${s.leader || '-'} State:${s.role}`;
}

/** One message on one line, e.g. `1->2 App Term:2 Log:1/3 Commit:3 Entries:[2/4 EntryNormal "foo"]`. */
export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${MessageType[m.type]} Term:${m.term}`;
  switch (m.type) {
    case MessageType.Vote:
    case MessageType.PreVote:
      s += ` Log:${m.logTerm}/${m.index}`;
      if (m.context && m.context.length > 0) s += ` Context:${describeBytes(m.context)}`;
      break;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      if (m.reject) s += ' Rejected';
      break;
    case MessageType.App:
      s += ` Log:${m.logTerm}/${m.index} Commit:${m.commit}`;
      if (m.entries.length > 0) s += ` Entries:[${m.entries.map(describeEntry).join(', ')}]`;
      break;
    case MessageType.AppResp:
      s += ` Index:${m.index}`;
      if (m.reject) s += ` Rejected (Hint: ${m.rejectHint}/${m.logTerm})`;
      break;
    case MessageType.Heartbeat:
      s += ` Commit:${m.commit}`;
      if (m.context) s += ` Context:${describeBytes(m.context)}`;
      break;
    case MessageType.HeartbeatResp:
      if (m.context) s += ` Context:${describeBytes(m.context)}`;
      break;
    case MessageType.Snap:
      if (m.snapshot) s += ` Snapshot: ${describeSnapshot(m.snapshot)}`;
      break;
    case MessageType.ReadIndex:
    case MessageType.ReadIndexResp:
      if (m.type === MessageType.ReadIndexResp) s += ` Index:${m.index}`;
      s += ` Context:${describeBytes(m.context)}`;
      break;
    case MessageType.SnapStatus:
      if (m.reject) s += ' Rejected';
      break;
    default:
      break;
  }
  return s;
}

/** A Ready as indented lines (no blank lines). */
export function describeReady(rd: Ready, indent = '  '): string[] {
  const out: string[] = [`Ready MustSync=${rd.mustSync}:`];
  if (rd.softState) out.push(describeSoftState(rd.softState));
  if (rd.hardState) out.push(describeHardState(rd.hardState));
  if (rd.readStates.length > 0) {
    out.push('ReadStates:');
    for (const r of rd.readStates) out.push(`Index:${r.index} Context:${describeBytes(r.context)}`);
  }
  if (rd.entries.length > 0) {
    out.push('Entries:');
    for (const e of rd.entries) out.push(describeEntry(e));
  }
  if (rd.snapshot) out.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0) {
    out.push('CommittedEntries:');
    for (const e of rd.committedEntries) out.push(describeEntry(e));
  }
  if (rd.messages.length > 0) {
    out.push('Messages:');
    for (const m of rd.messages) out.push(describeMessage(m));
  }
  return out.map((l) => indent + l);
}
