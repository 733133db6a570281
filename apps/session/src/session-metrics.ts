import { Inject, Injectable } from '@nestjs/common';
import { METRICS, Metrics } from '@sofareg/server-kit';

/** The session shell's metrics, registered once (the node's own are registered by SessionNode). */
@Injectable()
export class SessionMetrics {
  readonly registrations;
  /** The hot path's label set, resolved once. */
  readonly publishedOk;
  readonly overflow;
  readonly refusedConnections;
  readonly writeLatency;
  readonly framedMessages;
  readonly receivedFrames;
  readonly throttled;
  readonly switched;
  readonly configPushes;

  constructor(@Inject(METRICS) metrics: Metrics) {
    this.registrations = metrics.counter('session_registrations_total', 'registration requests', ['kind', 'result']);
    this.publishedOk = this.registrations.labels({ kind: 'publish', result: 'ok' });
    this.overflow = metrics.counter(
      'session_connection_overflow_total',
      'clients disconnected because they read too slowly',
    );
    this.refusedConnections = metrics.counter(
      'session_refused_connections_total',
      'connections refused over --max-connections',
    );
    this.writeLatency = metrics.histogram('session_write_seconds', 'publish received to acknowledged by data');
    this.framedMessages = metrics.sizeHistogram(
      'session_client_frame_messages',
      'messages per frame sent to a batch-reading client',
    );
    this.receivedFrames = metrics.sizeHistogram(
      'session_client_received_frame_messages',
      'messages per frame received from a client',
    );
    this.throttled = metrics.counter(
      'session_throttled_connections_total',
      'connections refused by admission throttling (over --max-connects-per-second)',
    );
    this.switched = metrics.counter(
      'session_switch_actions_total',
      'registrations and connections acted on by switches',
      ['action'],
    );
    this.configPushes = metrics.counter('session_config_pushes_total', 'provide-data values pushed to configurators');
  }
}
