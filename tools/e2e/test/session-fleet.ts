/**
 * A fleet of registry clients in one process, driven by a test over stdin/stdout (one JSON object a line).
 *
 * Usage: session-fleet.ts '<json FleetSpec>'
 * Each client i (offset..offset+count-1) publishes `${prefix}.${i % dataIds}` with address `c${i}` (unless
 * `publish` is false) and subscribes to `${prefix}.${(i + 1) % dataIds}`. Every client dials `sessions[0]` first, then the others.
 * Prints `{"type":"ready"}` once every publisher is acknowledged and every subscriber holds a non-empty list;
 * from then on it counts pushes that are empty (a live publisher vanished) or shorter than the previous one.
 * Commands: `{"cmd":"mark"}` → `{"type":"marked"}` (restarts the push count);
 * `{"cmd":"where"}` → `{"type":"where","sessions":{address:count}}`;
 * `{"cmd":"report"}` → `{"type":"report",...}`; `{"cmd":"close"}` closes every client and exits.
 */
import { SeededRandom } from '@sofareg/model';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as readline from 'node:readline';
import { RegistryClient } from '@sofareg/client';

interface FleetSpec {
  sessions: string[];
  count: number;
  offset: number;
  dataIds: number;
  prefix: string;
  seed: number;
  /** false: subscribers only (watching the other fleets' publishers). */
  publish: boolean;
}

function prng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

function out(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as FleetSpec;
  const clients: RegistryClient[] = [];
  const sizes: number[] = [];
  let armed = false;
  let pushes = 0;
  let empties = 0;
  let shrinks = 0;
  const examples: string[] = [];
  const pubs = [];
  const lostAt: number[] = [];
  const dialAt: number[] = [];
  const reconnectedAt: number[] = [];
  for (let k = 0; k < spec.count; k++) {
    const i = spec.offset + k;
    const rnd = prng(spec.seed + i);
    let first = true;
    const client = new RegistryClient({
      sessionServers: spec.sessions,
      appName: 'fleet',
      // The first draw picks the first server: start everyone on sessions[0]; jitter from a seeded source.
      random: () => (first ? ((first = false), 0) : rnd()),
    });
    clients.push(client);
    void (async () => {
      for await (const ev of client.status()) {
        if (ev.type === 'disconnected') lostAt.push(Date.now());
        else if (ev.type === 'connected' && ev.reconnected) reconnectedAt.push(Date.now());
        else if (ev.type === 'connecting' && ev.attempt > 0) dialAt.push(Date.now());
      }
    })();
    if (process.env.FLEET_DEBUG && k < 2) {
      void (async () => {
        for await (const ev of client.status())
          process.stderr.write(`fleet client ${i} at ${Date.now() % 100000}: ${JSON.stringify(ev)}\n`);
      })();
    }
    if (spec.publish) pubs.push(client.publish({ dataId: `${spec.prefix}.${i % spec.dataIds}` }, `c${i}`));
    // Connect in batches: a thousand dials at once would take longer than a hello timeout on a small machine.
    if (k % 50 === 49) await Promise.all(clients.slice(-50).map((c) => c.ready({ timeoutMs: 30_000 })));
    sizes.push(-1);
    client.subscribe({ dataId: `${spec.prefix}.${(i + 1) % spec.dataIds}`, scope: 'dataCenter' }, (_id, data) => {
      const n = Object.values(data.zoneData).reduce((acc, l) => acc + l.length, 0);
      if (armed) pushes++;
      if (armed && n === 0) {
        empties++;
        if (examples.length < 5) examples.push(`client ${i}: empty push v${data.version}`);
      } else if (armed && n < sizes[k]) {
        shrinks++;
        if (examples.length < 5) examples.push(`client ${i}: ${sizes[k]} -> ${n} at v${data.version}`);
      }
      sizes[k] = n;
    });
  }
  await Promise.all(pubs.map((p) => p.synced()));
  for (;;) {
    if (sizes.every((n) => n > 0)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  armed = true;
  // FLEET_PROFILE_DIR=dir: profile from now (the failover) until the report.
  const session = new inspector.Session();
  if (process.env.FLEET_PROFILE_DIR) {
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.start');
  }
  out({ type: 'ready' });

  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = (JSON.parse(line) as { cmd: string }).cmd;
    if (cmd === 'where') {
      const sessions: Record<string, number> = {};
      for (const c of clients) {
        const at = c.session?.sessionAddress ?? 'none';
        sessions[at] = (sessions[at] ?? 0) + 1;
      }
      let dialFailures = 0;
      let connects = 0;
      for (const c of clients) {
        dialFailures += c.stats().dialFailures;
        connects += c.stats().connects;
      }
      out({ type: 'where', sessions, dialFailures, connects });
    } else if (cmd === 'mark') {
      pushes = 0; // count pushes from now (the kill) on; empty and shrunk lists are counted from `ready`
      out({ type: 'marked' });
    } else if (cmd === 'report') {
      if (process.env.FLEET_PROFILE_DIR) {
        const dir = process.env.FLEET_PROFILE_DIR;
        session.post('Profiler.stop', (_e, res) =>
          fs.writeFileSync(`${dir}/fleet-${spec.offset}.cpuprofile`, JSON.stringify(res.profile)),
        );
      }
      const q = (a: number[]) =>
        a.length === 0 ? [] : [Math.min(...a), [...a].sort((x, y) => x - y)[a.length >> 1], Math.max(...a)];
      out({
        type: 'report',
        pushes,
        empties,
        shrinks,
        examples,
        minSize: Math.min(...sizes),
        lostAt: q(lostAt),
        dialAt: q(dialAt),
        reconnectedAt: q(reconnectedAt),
      });
    } else if (cmd === 'close') {
      void Promise.all(clients.map((c) => c.close())).then(() => process.exit(0));
    }
  });
  rl.on('close', () => process.exit(0));
}

main().catch((err) => {
  out({ type: 'error', message: (err as Error).stack ?? String(err) });
  process.exit(1);
});
