import { EntryType, type Ready } from '../core';
import { createMemoryRaftStorage } from '../storage';
import { DurableState } from './durable-state';

const entry = (index: number, term = 1) => ({ index, term, type: EntryType.Normal, data: new Uint8Array([index]) });
const ready = (r: Partial<Ready>): Ready => ({
  readStates: [],
  entries: [],
  committedEntries: [],
  messages: [],
  mustSync: false,
  ...r,
});

describe('DurableState', () => {
  it('saves term and vote at once, the commit index lazily and never ahead of the durable log', async () => {
    const storage = createMemoryRaftStorage();
    const { state } = await DurableState.load(storage);
    await state.persist(ready({ entries: [entry(1), entry(2)], hardState: { term: 1, vote: 'a', commit: 0 } }));
    expect(storage.stable.hardState()).toEqual({ term: 1, vote: 'a', commit: 0 });
    // The commit index alone moves: nothing is written until flushCommit.
    expect(await state.persist(ready({ hardState: { term: 1, vote: 'a', commit: 2 } }))).toBe(false);
    expect(storage.stable.hardState().commit).toBe(0);
    await state.flushCommit();
    expect(storage.stable.hardState().commit).toBe(2);
    // A commit index ahead of the log (entries of the same Ready) is capped at what was durable before.
    await state.persist(ready({ entries: [entry(3, 2)], hardState: { term: 2, vote: '', commit: 3 } }));
    expect(storage.stable.hardState()).toEqual({ term: 2, vote: '', commit: 2 });
    await state.flushCommit();
    expect(storage.stable.hardState().commit).toBe(3);
    expect(state.mirror.lastIndex()).toBe(3);
  });

  it('restarts from what it saved, and after a snapshot installed before the log was reset', async () => {
    const storage = createMemoryRaftStorage();
    const { state } = await DurableState.load(storage);
    await state.persist(
      ready({ entries: [entry(1), entry(2), entry(3)], hardState: { term: 1, vote: 'a', commit: 0 } }),
    );
    // A crash between saving a received snapshot and resetting the log.
    await storage.snapshots.save({
      meta: { index: 10, term: 3, conf: { voters: ['a'], learners: [] } },
      data: new Uint8Array(0),
    });
    const again = await DurableState.load(storage);
    expect(again.loaded.firstIndex).toBe(11);
    expect(again.loaded.lastIndex).toBe(10);
    expect(again.loaded.hardState.commit).toBe(10);
    expect(storage.log.firstIndex()).toBe(11);
  });

  it('compacts after its own snapshot, keeping entries behind it', async () => {
    const storage = createMemoryRaftStorage();
    const { state } = await DurableState.load(storage);
    await state.persist(
      ready({
        entries: Array.from({ length: 20 }, (_, i) => entry(i + 1)),
        hardState: { term: 1, vote: 'a', commit: 20 },
      }),
    );
    await state.saveOwnSnapshot(
      { meta: { index: 15, term: 1, conf: { voters: ['a'], learners: [] } }, data: new Uint8Array([7]) },
      12,
    );
    expect(state.mirror.firstIndex()).toBe(13);
    expect(storage.log.firstIndex()).toBe(13);
    expect(state.mirror.snapshotIndex()).toBe(15);
    expect((await storage.snapshots.latest())?.meta.index).toBe(15);
  });
});
