import type { DataServerCore, DriverObserver } from '@sofareg/data-core';
import type { Metrics } from '@sofareg/server-kit';

/** The driver's counts as Prometheus metrics, and gauges of what the core holds. */
export function dataDriverMetrics(metrics: Metrics, core: DataServerCore): DriverObserver {
  const notified = metrics.counter('data_change_notifications_total', 'datum changes sent to sessions');
  const replicated = metrics.counter('data_replicated_ops_total', 'ops sent to followers');
  const replicateBatch = metrics.sizeHistogram(
    'data_replicate_batch_ops',
    'ops per Replicate batch sent to a follower',
  );
  const timeouts = metrics.counter(
    'data_replication_wait_timeouts_total',
    'writes acknowledged before every follower had them',
  );
  const syncPages = metrics.counter('data_sync_pages_total', 'slot pages fetched from sessions', ['result']);
  const snapshots = metrics.counter('data_snapshots_total', 'slot snapshots installed or served', ['kind']);
  const repairs = metrics.counter('data_digest_repairs_total', 'dataInfoIds repaired after a digest mismatch');
  metrics.gauge('data_publishers', 'publishers held (leader and follower replicas)', [], function () {
    this.set(core.publisherCount);
  });
  metrics.gauge('data_slots', 'slots held by role and status', ['status'], function () {
    this.reset();
    for (const s of core.slots.values()) this.inc({ status: s.status });
  });
  return {
    notified: (n) => notified.inc(n),
    replicateBatch: (ops) => replicateBatch.observe(ops),
    replicated: (ops) => replicated.inc(ops),
    replicationWaitTimedOut: () => timeouts.inc(),
    syncPage: (ok) => syncPages.inc({ result: ok ? 'ok' : 'error' }),
    snapshot: (kind) => snapshots.inc({ kind }),
    repaired: (n) => repairs.inc(n),
  };
}
