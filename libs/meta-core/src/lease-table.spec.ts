import { LeaseTable } from './lease-table';

describe('LeaseTable', () => {
  it('expires a server only after its lease has run out, oldest first', () => {
    const t = new LeaseTable(3_000);
    t.renew('a', 0);
    t.renew('b', 1_000);
    expect(t.expired(3_000)).toEqual([]);
    expect(t.expired(3_001)).toEqual(['a']);
    expect(t.expired(5_000)).toEqual(['a', 'b']);
    t.renew('a', 4_500);
    expect(t.expired(5_000)).toEqual(['b']);
  });

  it('gives every known server a fresh lease when leadership changes', () => {
    const t = new LeaseTable(1_000);
    t.renew('old', 0);
    t.renewAll(['a', 'b'], 10_000);
    expect(t.has('old')).toBe(false);
    expect(t.expired(10_500)).toEqual([]);
    expect(t.expired(11_001)).toEqual(['a', 'b']);
  });

  it('expires a server whose watch stream closed after the grace, unless it watches again', () => {
    const t = new LeaseTable(3_000);
    t.renew('a', 0);
    t.renew('b', 0);
    t.suspect('a', 100, 1_000);
    t.suspect('b', 100, 1_000);
    t.clearSuspect('b');
    expect(t.expired(1_100)).toEqual([]);
    expect(t.expired(1_101)).toEqual(['a']);
    expect(t.expired(3_001)).toEqual(['a', 'b']);
  });

  it('lifts a suspicion when the server heartbeats again', () => {
    const t = new LeaseTable(3_000);
    t.renew('a', 0);
    t.suspect('a', 100, 1_000);
    t.renew('a', 600);
    expect(t.expired(1_101)).toEqual([]);
    expect(t.expired(3_601)).toEqual(['a']);
  });

  it('does not suspect a server it does not know', () => {
    const t = new LeaseTable(3_000);
    t.suspect('x', 0, 10);
    expect(t.expired(100)).toEqual([]);
  });
});
