import { ConfigWatchers } from './config-watchers';

describe('ConfigWatchers', () => {
  it('plans one push per connection serving all its watchers of the key', () => {
    const w = new ConfigWatchers();
    w.put({ registerId: 'a', key: 'k', connectId: 'c1' });
    w.put({ registerId: 'b', key: 'k', connectId: 'c1' });
    w.put({ registerId: 'c', key: 'k', connectId: 'c2' });
    w.put({ registerId: 'd', key: 'other', connectId: 'c2' });
    expect(w.plan('k')).toEqual([
      { connectId: 'c1', registerIds: ['a', 'b'] },
      { connectId: 'c2', registerIds: ['c'] },
    ]);
    expect(w.plan('none')).toEqual([]);
  });

  it('removes only what the owning connection asks for, and everything of a closed connection', () => {
    const w = new ConfigWatchers();
    w.put({ registerId: 'a', key: 'k', connectId: 'c1' });
    w.put({ registerId: 'b', key: 'j', connectId: 'c1' });
    expect(w.remove('a', 'c2')).toBeUndefined();
    expect(w.removeConnection('c1')).toBe(2);
    expect(w.size).toBe(0);
    expect(w.plan('k')).toEqual([]);
  });

  it('lets a reconnected client take a watcher over', () => {
    const w = new ConfigWatchers();
    w.put({ registerId: 'a', key: 'k', connectId: 'old' });
    w.put({ registerId: 'a', key: 'k', connectId: 'new' });
    expect(w.removeConnection('old')).toBe(0);
    expect(w.plan('k')).toEqual([{ connectId: 'new', registerIds: ['a'] }]);
  });
});
