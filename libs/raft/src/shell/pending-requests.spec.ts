import { type Entry, EntryType } from '../core';
import { RaftNodeError } from './errors';
import { PendingRequests, type Waiter } from './pending-requests';
import { newShellCounters } from './shell-counters';

/** A waiter that records how it was settled. */
function recorder<T>(deadline: number): Waiter<T> & { outcome: string | undefined; value?: T } {
  const w: Waiter<T> & { outcome: string | undefined; value?: T } = {
    deadline,
    outcome: undefined,
    resolve(v) {
      if (w.outcome) throw new Error('settled twice');
      w.outcome = 'ok';
      w.value = v;
    },
    reject(e) {
      if (w.outcome) throw new Error('settled twice');
      w.outcome = e instanceof RaftNodeError ? e.code : String(e);
    },
  };
  return w;
}

function entry(index: number, term: number, type = EntryType.Normal): Entry {
  return { index, term, type, data: new Uint8Array(0) };
}

function book() {
  const counters = newShellCounters();
  return { counters, requests: new PendingRequests({ proposalTimeoutMs: 100, readTimeoutMs: 50 }, counters) };
}

describe('PendingRequests', () => {
  it('resolves a proposal applied at its index with its term, and drops one another term took', () => {
    const { counters, requests } = book();
    const kept = recorder<unknown>(1_000);
    const lost = recorder<unknown>(1_000);
    requests.track(5, { term: 2, conf: false, waiter: kept });
    requests.track(6, { term: 2, conf: false, waiter: lost });
    requests.settleApplied(entry(5, 2), 'r5', undefined, () => 'conf');
    requests.settleApplied(entry(6, 3), 'r6', undefined, () => 'conf');
    expect([kept.outcome, kept.value, lost.outcome]).toEqual(['ok', 'r5', 'ProposalDropped']);
    expect([counters.proposalsApplied, counters.proposalsRejected, requests.proposalCount]).toEqual([1, 1, 0]);
  });

  it('rejects a proposal whose index a new leader reused before it applied, and tracks the new one', () => {
    const { requests } = book();
    const old = recorder<unknown>(1_000);
    const next = recorder<unknown>(1_000);
    requests.track(7, { term: 2, conf: false, waiter: old });
    requests.track(7, { term: 3, conf: false, waiter: next });
    requests.settleApplied(entry(7, 3), 'x', undefined, () => undefined);
    expect([old.outcome, next.outcome]).toEqual(['ProposalDropped', 'ok']);
  });

  it('answers a membership change with the membership, and a failed apply with ApplyFailed', () => {
    const { requests } = book();
    const conf = recorder<unknown>(1_000);
    const failed = recorder<unknown>(1_000);
    requests.track(3, { term: 1, conf: true, waiter: conf });
    requests.track(4, { term: 1, conf: false, waiter: failed });
    requests.settleApplied(entry(3, 1, EntryType.ConfChange), undefined, new Error('ignored'), () => 'voters');
    requests.settleApplied(entry(4, 1), undefined, new Error('disk full'), () => undefined);
    expect([conf.outcome, conf.value, failed.outcome]).toEqual(['ok', 'voters', 'ApplyFailed']);
  });

  it('times out queued and proposed entries by their own deadlines, at the given time only', () => {
    const { counters, requests } = book();
    const early = recorder<unknown>(100);
    const late = recorder<unknown>(300);
    const proposed = recorder<unknown>(200);
    requests.queueProposal(new Uint8Array([1]), early);
    requests.queueProposal(new Uint8Array([2]), late);
    requests.track(9, { term: 1, conf: false, waiter: proposed });
    requests.expire(99);
    expect([early.outcome, late.outcome, proposed.outcome]).toEqual([undefined, undefined, undefined]);
    requests.expire(200);
    expect([early.outcome, late.outcome, proposed.outcome]).toEqual(['Timeout', undefined, 'Timeout']);
    expect(requests.takeQueuedProposals().map((q) => q.waiter)).toEqual([late]);
    expect(counters.proposalsTimedOut).toBe(2);
  });

  it('serves a read batch once the state machine reaches the confirmed index', () => {
    const { counters, requests } = book();
    const a = recorder<void>(1_000);
    const b = recorder<void>(1_000);
    requests.queueRead(a);
    requests.queueRead(b);
    requests.sendQueuedReads('ctx1');
    expect(requests.hasQueuedReads).toBe(false);
    requests.readConfirmed('ctx1', 12);
    requests.applied(11);
    expect([a.outcome, b.outcome]).toEqual([undefined, undefined]);
    requests.applied(12);
    expect([a.outcome, b.outcome, counters.readIndexServed, requests.readCount]).toEqual(['ok', 'ok', 2, 0]);
  });

  it('expires each caller of a read batch by its own deadline; the others keep waiting', () => {
    const { counters, requests } = book();
    const old = recorder<void>(50);
    const young = recorder<void>(150);
    requests.queueRead(old);
    requests.queueRead(young);
    requests.sendQueuedReads('c');
    requests.expire(100);
    expect([old.outcome, young.outcome, counters.readIndexTimedOut]).toEqual(['Timeout', undefined, 1]);
    requests.readConfirmed('c', 1);
    requests.applied(1);
    expect(young.outcome).toBe('ok');
  });

  it('asks a new leader again for reads sent to the previous one, and resolves transfers to it', () => {
    const { requests } = book();
    const read = recorder<void>(1_000);
    const toB = recorder<void>(1_000);
    const toC = recorder<void>(1_000);
    requests.queueRead(read);
    requests.sendQueuedReads('old');
    requests.waitForLeader('b', toB);
    requests.waitForLeader('c', toC);
    requests.leaderChanged('', true);
    expect(requests.hasQueuedReads).toBe(false);
    requests.leaderChanged('b', true);
    expect([requests.hasQueuedReads, toB.outcome, toC.outcome]).toEqual([true, 'ok', undefined]);
    requests.readConfirmed('old', 1); // a late answer from the old leader finds nothing
    requests.applied(1);
    expect(read.outcome).toBeUndefined();
    requests.expire(1_000);
    expect([read.outcome, toC.outcome]).toEqual(['Timeout', 'Timeout']);
  });

  it('rejects the proposals a snapshot from the leader covered with OutcomeUnknown', () => {
    const { requests } = book();
    const covered = recorder<unknown>(1_000);
    const after = recorder<unknown>(1_000);
    requests.track(4, { term: 1, conf: false, waiter: covered });
    requests.track(8, { term: 1, conf: false, waiter: after });
    requests.coveredBySnapshot(5);
    expect([covered.outcome, after.outcome, requests.proposalCount]).toEqual(['OutcomeUnknown', undefined, 1]);
  });

  it('rejects everything once with rejectAll', () => {
    const { requests } = book();
    const ws = [recorder<unknown>(1), recorder<unknown>(1), recorder<void>(1), recorder<void>(1), recorder<void>(1)];
    requests.queueProposal(new Uint8Array(0), ws[0]);
    requests.track(1, { term: 1, conf: false, waiter: ws[1] });
    requests.queueRead(ws[2] as Waiter<void>);
    requests.queueRead(ws[3] as Waiter<void>);
    requests.sendQueuedReads('x');
    requests.waitForLeader('b', ws[4] as Waiter<void>);
    requests.rejectAll(new RaftNodeError('Stopped', 'stopped'));
    expect(ws.map((w) => w.outcome)).toEqual(['Stopped', 'Stopped', 'Stopped', 'Stopped', 'Stopped']);
    expect([requests.proposalCount, requests.readCount]).toEqual([0, 0]);
    requests.expire(10); // nothing is settled twice
  });
});
