/**
 * `npm run bench:transport`: what serving gRPC through Nest costs. The same DataService handlers are served by
 * (a) a hand-wired grpc-js server and (b) GrpcJsTransport with a Nest controller (`@GrpcMethod` for the unary
 * GetData, `@GrpcStreamCall` for the bidi Write stream), each in its own server process, driven from this process
 * over loopback with the same client code:
 *
 * - `unary`: GetData calls, `c` in flight (each caller waits for its answer before the next);
 * - `stream`: Write requests on one long-lived bidi stream (StreamCaller, answers matched by callId), `c` in flight.
 *
 * Then, in this process and without the network, `dispatch`: what Nest's handler proxy (pipes, guards,
 * interceptors, exception filter: the work GrpcJsTransport adds to a unary call) costs over calling the same
 * handler directly, `--dispatch-calls` calls one after the other.
 *
 * For each scenario and concurrency: one unmeasured warm-up run per variant, then `--runs` runs alternating (a) and
 * (b), each `--seconds` long. Printed per variant: calls/s and µs of CPU per call in the server process (what the
 * transport changes) and in both processes; then the ratios (b)/(a), medians over the runs.
 *
 *   npm run bench:transport -- [--runs 5] [--seconds 2] [--concurrency 1,256] [--scenarios unary,stream|none]
 *                              [--dispatch-calls 200000 (0: skip)]
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { GrpcMethodStreamingType } from '@nestjs/microservices';
import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DataServiceClient, DataServiceService, GetDataRequest, WriteRequest, WriteResponse } from '@sofareg/contracts';
import {
  CLIENT_CHANNEL_OPTIONS,
  GrpcJsTransport,
  StreamCaller,
  callUnary,
  grpc,
  grpcPattern,
  useGrpcTransports,
} from '@sofareg/server-kit';
import { DataBenchModule, getData } from './bench-transport-handlers';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1,256' },
    scenarios: { type: 'string', default: 'unary,stream' },
    'dispatch-calls': { type: 'string', default: '200000' },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const CONCURRENCY = args.concurrency.split(',').map(Number);
const SCENARIOS = args.scenarios.split(',').filter((s): s is Scenario => s === 'unary' || s === 'stream');
const DISPATCH_CALLS = Number(args['dispatch-calls']);
const VARIANTS = ['raw', 'nest'] as const;

type Scenario = 'unary' | 'stream';
type Variant = (typeof VARIANTS)[number];

interface Sample {
  callsPerSec: number;
  serverMicrosPerCall: number;
  totalMicrosPerCall: number;
}

interface Server {
  child: ChildProcess;
  client: DataServiceClient;
  cpuMicros(): Promise<number>;
}

const say = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const signed = (n: number) => `${n >= 0 ? '+' : '−'}${fmt(Math.abs(n), 1)}`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ownCpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** Starts one server process (through run-ts, so it runs the TypeScript sources) and connects a client. */
async function startServer(variant: Variant): Promise<Server> {
  const runTs = path.join(__dirname, '../../scripts/run-ts.cjs');
  const script = path.join(__dirname, 'bench-transport-server.ts');
  const child = fork(runTs, [script, variant], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)));
  });
  const client = new DataServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
  const cpuMicros = () =>
    new Promise<number>((resolve) => {
      child.once('message', (m) => resolve((m as { cpuMicros: number }).cpuMicros));
      child.send('cpu');
    });
  return { child, client, cpuMicros };
}

/** Runs `inFlight` callers of `call` for `seconds`; returns the calls answered. */
async function drive(call: () => Promise<unknown>, inFlight: number, seconds: number): Promise<number> {
  const until = Date.now() + seconds * 1_000;
  let calls = 0;
  const caller = async () => {
    while (Date.now() < until) {
      await call();
      calls++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, caller));
  return calls;
}

function callOf(server: Server, scenario: Scenario): { call: () => Promise<unknown>; close: () => void } {
  if (scenario === 'unary') {
    const request = { dataInfoIds: ['bench#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP'], dataCenter: '', slotTableEpoch: 1 };
    return { call: () => callUnary(server.client, server.client.getData, request), close: () => undefined };
  }
  const caller = new StreamCaller<WriteRequest, WriteResponse>(() => server.client.write(), 10_000);
  const request = (): WriteRequest => ({
    sessionAddress: 's',
    sessionProcessId: 'p',
    slotTableEpoch: 1,
    ops: [],
    callId: 0,
  });
  return { call: () => caller.call(request()), close: () => caller.close() };
}

async function measure(server: Server, scenario: Scenario, inFlight: number, seconds: number): Promise<Sample> {
  const { call, close } = callOf(server, scenario);
  await call(); // opens the stream before the clock starts
  const serverBefore = await server.cpuMicros();
  const ownBefore = ownCpuMicros();
  const started = process.hrtime.bigint();
  const calls = await drive(call, inFlight, seconds);
  const elapsedSec = Number(process.hrtime.bigint() - started) / 1e9;
  const serverMicros = (await server.cpuMicros()) - serverBefore;
  const ownMicros = ownCpuMicros() - ownBefore;
  close();
  return {
    callsPerSec: calls / elapsedSec,
    serverMicrosPerCall: serverMicros / calls,
    totalMicrosPerCall: (serverMicros + ownMicros) / calls,
  };
}

/** CPU µs per call of `call`, `n` calls one after the other, after `n / 10` unmeasured ones; median of runs. */
async function cpuPerCall(call: () => Promise<unknown>, n: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n / 10; i++) await call();
  for (let run = 0; run < RUNS; run++) {
    const before = ownCpuMicros();
    for (let i = 0; i < n; i++) await call();
    samples.push((ownCpuMicros() - before) / n);
  }
  return median(samples);
}

/** Nest's handler proxy against a direct call of the same handler, in this process. */
async function measureDispatch(): Promise<string> {
  const app = await NestFactory.create(DataBenchModule, { logger: false });
  const transport = new GrpcJsTransport({ host: '127.0.0.1', port: 0, services: [DataServiceService] });
  useGrpcTransports(app, [transport]); // registers the controller's handlers with the transport
  const pattern = grpcPattern('DataService', 'GetData', GrpcMethodStreamingType.NO_STREAMING);
  const handler = transport.getHandlers().get(pattern) as unknown as (...args: unknown[]) => Promise<unknown>;
  const request: GetDataRequest = { dataInfoIds: ['d'], dataCenter: '', slotTableEpoch: 1 };
  const metadata = new grpc.Metadata();
  const direct = await cpuPerCall(() => Promise.resolve(getData(request)), DISPATCH_CALLS);
  const proxied = await cpuPerCall(() => handler(request, metadata, {}), DISPATCH_CALLS);
  await app.close();
  say(`dispatch  direct ${fmt(direct, 2)} µs/call, through Nest's proxy ${fmt(proxied, 2)} µs/call`);
  return `dispatch: Nest's handler proxy adds ${signed(proxied - direct)} µs CPU per unary call`;
}

async function main(): Promise<void> {
  const servers = { raw: await startServer('raw'), nest: await startServer('nest') };
  say(`bench:transport: ${RUNS} runs of ${SECONDS} s, concurrency ${CONCURRENCY.join(',')}, median of runs`);
  say('scenario  in-flight  variant        calls/s  server µs/call  total µs/call');
  const ratios: string[] = [];
  try {
    for (const scenario of SCENARIOS) {
      for (const inFlight of CONCURRENCY) {
        for (const variant of VARIANTS) await measure(servers[variant], scenario, inFlight, Math.min(1, SECONDS));
        const samples: Record<Variant, Sample[]> = { raw: [], nest: [] };
        for (let run = 0; run < RUNS; run++) {
          for (const variant of VARIANTS) {
            samples[variant].push(await measure(servers[variant], scenario, inFlight, SECONDS));
          }
        }
        const med = (variant: Variant) => ({
          callsPerSec: median(samples[variant].map((s) => s.callsPerSec)),
          server: median(samples[variant].map((s) => s.serverMicrosPerCall)),
          total: median(samples[variant].map((s) => s.totalMicrosPerCall)),
        });
        const a = med('raw');
        const b = med('nest');
        for (const [variant, m] of [
          ['raw grpc-js', a],
          ['nest', b],
        ] as const) {
          say(
            `${scenario.padEnd(8)}  ${String(inFlight).padStart(9)}  ${variant.padEnd(11)}` +
              `  ${fmt(m.callsPerSec).padStart(9)}` +
              `  ${fmt(m.server, 1).padStart(14)}  ${fmt(m.total, 1).padStart(13)}`,
          );
        }
        ratios.push(
          `${scenario} x${inFlight}: calls/s ${fmt(b.callsPerSec / a.callsPerSec, 2)}, ` +
            `server CPU/call ${fmt(b.server / a.server, 2)}, total CPU/call ${fmt(b.total / a.total, 2)} ` +
            `(${signed(b.server - a.server)} µs server CPU per call)`,
        );
      }
    }
  } finally {
    for (const s of Object.values(servers)) {
      s.client.close();
      s.child.disconnect();
    }
  }
  if (DISPATCH_CALLS > 0) ratios.push(await measureDispatch());
  say('ratios (b) nest / (a) raw grpc-js:');
  for (const r of ratios) say(`  ${r}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
