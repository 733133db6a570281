import type { HeartbeatResponse, NodeInfo } from '@sofareg/contracts';
import type { MetaClientEvent } from './meta-client-core';
import { MetaClientDriver, MetaClientPort, MetaWatchHandlers } from './meta-client-driver';

const node: NodeInfo = {
  address: 'd:1',
  role: 'data',
  zone: 'z',
  dataCenter: 'dc',
  processId: 'p',
  startedAt: 1,
  httpAddress: '',
  syncAddress: '',
};
const ok = (epoch: number): HeartbeatResponse => ({
  ok: true,
  error: undefined,
  slotTableEpoch: epoch,
  slotTable: { epoch, slotCount: 4, replicas: 1, slots: [] },
  leader: '',
  leaseMs: 0,
});

/** An in-memory port that records what the driver asks for and lets the test answer by hand. */
class RecordingPort implements MetaClientPort {
  time = 0;
  readonly beats: { address: string; answered: (r: HeartbeatResponse) => void; failed: (why: string) => void }[] = [];
  readonly watches: { address: string; handlers: MetaWatchHandlers; cancelled: boolean }[] = [];
  readonly timers: { atMs: number; fire: () => void; cancelled: boolean }[] = [];
  readonly events: MetaClientEvent[] = [];
  readonly leaves: string[] = [];
  now = () => this.time;
  heartbeat: MetaClientPort['heartbeat'] = (address, _req, answered, failed) => {
    this.beats.push({ address, answered, failed });
  };
  watch: MetaClientPort['watch'] = (address, _req, handlers) => {
    const w = { address, handlers, cancelled: false };
    this.watches.push(w);
    return () => void (w.cancelled = true);
  };
  leave: MetaClientPort['leave'] = (address) => void this.leaves.push(address);
  timer: MetaClientPort['timer'] = (atMs, fire) => {
    const t = { atMs, fire, cancelled: false };
    this.timers.push(t);
    return () => void (t.cancelled = true);
  };
  emit = (event: MetaClientEvent) => void this.events.push(event);
  log = () => undefined;
  pending(): { atMs: number; fire: () => void }[] {
    return this.timers.filter((t) => !t.cancelled);
  }
}

function started(): { port: RecordingPort; driver: MetaClientDriver } {
  const port = new RecordingPort();
  const driver = new MetaClientDriver({ metaAddresses: ['m1', 'm2'], node, random: { next: () => 0 } }, port);
  driver.start();
  return { port, driver };
}

describe('MetaClientDriver', () => {
  it('carries out the start: a heartbeat, the next one scheduled, the watch opened', () => {
    const { port } = started();
    expect(port.beats.map((b) => b.address)).toEqual(['m1']);
    expect(port.pending().map((t) => t.atMs)).toEqual([1_000]);
    expect(port.watches.map((w) => w.address)).toEqual(['m1']);
  });

  it('reports answers back to the core and hands its events to the owner', () => {
    const { port, driver } = started();
    port.beats[0].answered(ok(3));
    expect(driver.core.slotTable?.epoch).toBe(3);
    expect(port.events.map((e) => e.name)).toEqual(['slotTable']);
  });

  it('keeps one timer per kind: firing the heartbeat timer schedules the next and beats again', () => {
    const { port } = started();
    port.time = 1_000;
    port.pending()[0].fire();
    expect(port.beats).toHaveLength(2);
    expect(port.timers.filter((t) => t.cancelled)).toHaveLength(1); // the fired one, replaced
    expect(port.pending().map((t) => t.atMs)).toEqual([2_000]);
  });

  it('reopens an ended watch stream at the next address when its timer fires', () => {
    const { port } = started();
    port.time = 50;
    port.watches[0].handlers.ended('unavailable');
    const reopen = port.pending().find((t) => t.atMs === 250);
    expect(reopen).toBeDefined();
    reopen?.fire();
    expect(port.watches.map((w) => w.address)).toEqual(['m1', 'm2']);
  });

  it('on stop cancels timers and the stream and leaves at the current address', () => {
    const { port, driver } = started();
    driver.stop(true);
    expect(port.pending()).toEqual([]);
    expect(port.watches[0].cancelled).toBe(true);
    expect(port.leaves).toEqual(['m1']);
    port.beats[0].answered(ok(5));
    expect(port.events).toEqual([]);
  });
});
