import { RaftError } from './errors';
import { ReadOnlyOption } from './raft';
import { SeededRandom } from './random';
import { RawNode } from './raw-node';
import { MemoryStorage } from './storage';
import { ConfChangeType, EntryType, Message, MessageType, Role, makeMessage } from './types';

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Member {
  node: RawNode;
  storage: MemoryStorage;
  applied: string[];
}

/** A tiny synchronous cluster: every Ready is persisted and its messages delivered at once. */
function cluster(ids: string[], seed = 1) {
  const members = new Map<string, Member>();
  const make = (id: string, storage: MemoryStorage, applied = 0) =>
    new RawNode({ id, storage, random: new SeededRandom(seed + id.charCodeAt(0)), bootstrapVoters: ids, applied });
  for (const id of ids) {
    const storage = new MemoryStorage();
    members.set(id, { node: make(id, storage), storage, applied: [] });
  }
  const get = (id: string): Member => {
    const m = members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  };
  const stabilize = () => {
    for (let round = 0; round < 100; round++) {
      const msgs: Message[] = [];
      for (const m of members.values()) {
        while (m.node.hasReady()) {
          const rd = m.node.ready();
          if (rd.snapshot) m.storage.applySnapshot(rd.snapshot);
          m.storage.append(rd.entries);
          if (rd.hardState) m.storage.setHardState(rd.hardState);
          for (const e of rd.committedEntries)
            if (e.type === EntryType.Normal && e.data.length > 0) m.applied.push(dec.decode(e.data));
          msgs.push(...rd.messages);
          m.node.advance(rd);
        }
      }
      if (msgs.length === 0) return;
      for (const msg of msgs) members.get(msg.to)?.node.step(msg);
    }
  };
  const restart = (id: string) => {
    const m = get(id);
    m.node = make(id, m.storage);
    m.applied = [];
  };
  /** One network hop: every node handles its Ready, then every message sent is delivered. */
  const round = () => {
    const msgs: Message[] = [];
    for (const m of members.values()) {
      if (!m.node.hasReady()) continue;
      const rd = m.node.ready();
      m.storage.append(rd.entries);
      if (rd.hardState) m.storage.setHardState(rd.hardState);
      for (const e of rd.committedEntries)
        if (e.type === EntryType.Normal && e.data.length > 0) m.applied.push(dec.decode(e.data));
      msgs.push(...rd.messages);
      m.node.advance(rd);
    }
    for (const msg of msgs) members.get(msg.to)?.node.step(msg);
    return msgs.length;
  };
  return { get, stabilize, restart, round };
}

describe('RawNode', () => {
  it('elects a leader and replicates a proposal to every node', () => {
    const c = cluster(['1', '2', '3']);
    c.stabilize();
    c.get('1').node.campaign();
    c.stabilize();
    expect(c.get('1').node.role).toBe(Role.Leader);
    expect(c.get('2').node.leader).toBe('1');
    const r = c.get('1').node.propose(enc.encode('x'));
    expect(r).toEqual({ ok: true, index: 5, term: 2 });
    c.stabilize();
    for (const id of ['1', '2', '3']) expect(c.get(id).applied).toEqual(['x']);
  });

  it('elects exactly one leader by ticking alone', () => {
    const c = cluster(['1', '2', '3'], 7);
    for (let t = 0; t < 50; t++) {
      for (const id of ['1', '2', '3']) c.get(id).node.tick();
      c.stabilize();
    }
    expect(['1', '2', '3'].filter((id) => c.get(id).node.role === Role.Leader)).toHaveLength(1);
  });

  it('refuses proposals on a follower with NotLeader and the leader id, as a value', () => {
    const c = cluster(['1', '2', '3']);
    c.stabilize();
    c.get('1').node.campaign();
    c.stabilize();
    const r = c.get('2').node.propose(enc.encode('x'));
    expect(r).toMatchObject({ ok: false, code: 'NotLeader', leader: '1' });
    expect(c.get('2').node.status().counters.droppedProposals).toBe(1);
  });

  it('appends a batch as consecutive entries and reports the last index', () => {
    const c = cluster(['1']);
    c.stabilize();
    c.get('1').node.campaign();
    c.stabilize();
    const r = c.get('1').node.proposeBatch([enc.encode('a'), enc.encode('b'), enc.encode('c')]);
    expect(r).toMatchObject({ ok: true, index: 5, term: 2 });
    c.stabilize();
    expect(c.get('1').applied).toEqual(['a', 'b', 'c']);
  });

  it('throws ContractViolation when ready() is called twice without advance()', () => {
    const c = cluster(['1']);
    const n = c.get('1').node;
    n.ready();
    expect(n.hasReady()).toBe(false);
    expect(() => n.ready()).toThrow(RaftError);
  });

  it('drops local-only message kinds that arrive from the network and counts them', () => {
    const c = cluster(['1', '2', '3']);
    c.stabilize();
    c.get('2').node.step(makeMessage({ type: MessageType.Hup, from: '1', to: '2' }));
    expect(c.get('2').node.role).toBe(Role.Follower);
    expect(c.get('2').node.status().counters.droppedLocalFromNetwork).toBe(1);
  });

  it('restarts from storage and re-applies committed entries after the snapshot', () => {
    const c = cluster(['1', '2', '3']);
    c.stabilize();
    c.get('1').node.campaign();
    c.stabilize();
    c.get('1').node.propose(enc.encode('a'));
    c.get('1').node.propose(enc.encode('b'));
    c.stabilize();
    c.restart('2');
    c.stabilize();
    expect(c.get('2').applied).toEqual(['a', 'b']);
    expect(c.get('2').node.term).toBe(2);
    expect(c.get('2').node.status().conf.voters).toEqual(['1', '2', '3']);
  });

  it('gives the membership in force at an index, for snapshots', () => {
    const c = cluster(['1', '2', '3']);
    c.stabilize();
    c.get('1').node.campaign();
    c.stabilize();
    const r = c.get('1').node.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: '4' });
    expect(r.ok).toBe(true);
    c.stabilize();
    const n = c.get('1').node;
    expect(n.confStateAt(3)).toEqual({ voters: ['1', '2', '3'], learners: [] });
    expect(n.snapshotMetaAt(n.appliedIndex)).toEqual({
      index: 5,
      term: 2,
      conf: { voters: ['1', '2', '3'], learners: ['4'] },
    });
  });

  it('ignores bootstrap voters once the storage holds state', () => {
    const storage = new MemoryStorage();
    storage.setHardState({ term: 5, vote: '', commit: 0 });
    const n = new RawNode({ id: '1', storage, random: new SeededRandom(1), bootstrapVoters: ['1'] });
    expect(n.lastIndex).toBe(0);
    expect(n.status().conf.voters).toEqual([]);
  });

  it('rejects lease-based reads without check-quorum at construction', () => {
    expect(
      () =>
        new RawNode({
          id: '1',
          storage: new MemoryStorage(),
          random: new SeededRandom(1),
          checkQuorum: false,
          readOnlyOption: ReadOnlyOption.LeaseBased,
        }),
    ).toThrow(expect.objectContaining({ code: 'InvalidConfig' }));
  });

  it('batches proposals made between two Ready calls into one append per follower', () => {
    const c = cluster(['1', '2', '3']);
    c.stabilize();
    c.get('1').node.campaign();
    c.stabilize();
    for (let i = 0; i < 100; i++) c.get('1').node.propose(enc.encode(`p${i}`));
    const rd = c.get('1').node.ready();
    expect(rd.messages.filter((m) => m.type === MessageType.App)).toHaveLength(2);
    expect(rd.messages[0].entries).toHaveLength(100);
    c.get('1').node.advance(rd);
  });

  it('pipelines appends: a new proposal every hop commits two hops later, not one per round trip', () => {
    const c = cluster(['1', '2', '3']);
    c.stabilize();
    c.get('1').node.campaign();
    c.stabilize();
    const leader = c.get('1');
    for (let hop = 0; hop < 40; hop++) {
      leader.node.propose(enc.encode(`p${hop}`));
      c.round();
    }
    // Without pipelining, 40 proposals would need about 80 hops (one round trip each).
    expect(leader.applied.length).toBeGreaterThanOrEqual(37);
  });

  it('answers a read index on a single-node cluster at once', () => {
    const c = cluster(['1']);
    c.stabilize();
    c.get('1').node.campaign();
    c.stabilize();
    const n = c.get('1').node;
    n.readIndex(enc.encode('r'));
    const rd = n.ready();
    expect(rd.readStates).toEqual([{ index: 2, context: enc.encode('r') }]);
    n.advance(rd);
  });
});
