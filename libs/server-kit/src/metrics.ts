import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per process, with Node's default metrics and a `sofareg_` prefix for ours. */
export class Metrics {
  readonly registry = new Registry();

  constructor(role: string) {
    this.registry.setDefaultLabels({ role });
    collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new Counter({ name: `sofareg_${name}`, help, labelNames, registers: [this.registry] });
  }

  gauge(name: string, help: string, labelNames: string[] = [], collect?: (this: Gauge) => void): Gauge {
    return new Gauge({ name: `sofareg_${name}`, help, labelNames, registers: [this.registry], collect });
  }

  /** Latency in seconds, buckets from 100 µs to 10 s. */
  histogram(name: string, help: string, labelNames: string[] = []): Histogram {
    return this.withBuckets(
      name,
      help,
      labelNames,
      [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
  }

  /** A count per event (ops per batch, messages per frame), buckets from 1 to 4,096 in powers of two. */
  sizeHistogram(name: string, help: string, labelNames: string[] = []): Histogram {
    return this.withBuckets(name, help, labelNames, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]);
  }

  private withBuckets(name: string, help: string, labelNames: string[], buckets: number[]): Histogram {
    return new Histogram({ name: `sofareg_${name}`, help, labelNames, registers: [this.registry], buckets });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
