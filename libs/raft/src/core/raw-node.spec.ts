import { MemoryStorage } from './storage';
import { RawNode } from './raw-node';
import { SeededRandom } from './random';
import { Message, Role } from './types';

function cluster(ids: string[], seed = 1) {
  const storages = new Map<string, MemoryStorage>();
  const nodes = new Map<string, RawNode>();
  const rnd = new SeededRandom(seed);
  for (const id of ids) {
    const s = new MemoryStorage();
    storages.set(id, s);
    nodes.set(id, new RawNode({ id, storage: s, random: rnd, bootstrapVoters: ids }));
  }
  const applied = new Map<string, string[]>(ids.map((id) => [id, []]));
  const stabilize = () => {
    for (let round = 0; round < 100; round++) {
      const msgs: Message[] = [];
      let any = false;
      for (const [id, n] of nodes) {
        while (n.hasReady()) {
          any = true;
          const rd = n.ready();
          const s = storages.get(id)!;
          if (rd.snapshot) s.applySnapshot(rd.snapshot);
          s.append(rd.entries);
          if (rd.hardState) s.setHardState(rd.hardState);
          for (const e of rd.committedEntries) if (e.data.length && e.type === 0) applied.get(id)!.push(new TextDecoder().decode(e.data));
          msgs.push(...rd.messages);
          n.advance(rd);
        }
      }
      for (const m of msgs) nodes.get(m.to)?.step(m);
      if (!any && msgs.length === 0) return;
    }
  };
  return { nodes, storages, applied, stabilize };
}

describe('RawNode', () => {
  it('elects a leader and replicates a proposal to every node', () => {
    const c = cluster(['1', '2', '3']);
    c.stabilize();
    c.nodes.get('1')!.campaign();
    c.stabilize();
    expect(c.nodes.get('1')!.role).toBe(Role.Leader);
    expect(c.nodes.get('2')!.leader).toBe('1');
    const r = c.nodes.get('1')!.propose(new TextEncoder().encode('x'));
    expect(r.ok).toBe(true);
    c.stabilize();
    for (const id of ['1', '2', '3']) expect(c.applied.get(id)).toEqual(['x']);
  });

  it('elects a leader by ticking alone', () => {
    const c = cluster(['1', '2', '3'], 7);
    for (let t = 0; t < 50; t++) {
      for (const n of c.nodes.values()) n.tick();
      c.stabilize();
    }
    const leaders = [...c.nodes.values()].filter((n) => n.role === Role.Leader);
    expect(leaders).toHaveLength(1);
  });
});
