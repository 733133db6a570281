/**
 * Cost of registration validation per call, for valid and invalid input.
 * Run: `npm run bench:validation -- [iterations]`
 * Prints one line per case: CPU time and wall time per call, in ns (medians of 5 timed rounds after a warm-up
 * round). CPU time is the figure to compare on a busy machine: wall time also counts waiting for a core.
 */
import { validatePublish, validateSubscribe, validateWatchConfig } from '@sofareg/model';
// The slow path alone is not part of the lib's API: reached by path, as benchmarks may.
import {
  validatePublishDto,
  validateSubscribeDto,
  validateWatchConfigDto,
} from '../../../libs/model/src/validation.dto';

type Case = { name: string; run: (i: number) => unknown; slow?: boolean };

const iterations = Number(process.argv[2] ?? 200_000);

// Shaped like what the client builds and what the session decodes from the wire (extra fields included).
const publishes = Array.from({ length: 64 }, (_, i) => ({
  requestId: i,
  registerId: `r-${i}`,
  dataId: `com.acme.service.Orders${i}`,
  instanceId: '',
  group: 'DEFAULT_GROUP',
  dataList: [`10.0.${i}.1:12200?weight=100&zone=z1`],
  version: 1,
  appName: 'orders',
}));
const widePublishes = publishes.map((p, i) => ({
  ...p,
  dataList: Array.from({ length: 16 }, (_, j) => `10.0.${i}.${j}:12200?`.padEnd(200, 'x')),
}));
const subscribes = publishes.map((p) => ({
  requestId: p.requestId,
  registerId: p.registerId,
  dataId: p.dataId,
  instanceId: '',
  group: 'DEFAULT_GROUP',
  scope: 'zone',
  appName: 'orders',
}));
const watches = publishes.map((p) => ({ key: `switch.${p.dataId}` }));
const invalidPublishes = publishes.map((p) => ({ ...p, dataId: `${p.dataId}#@#x` }));

const cases: Case[] = [
  { name: 'validatePublish (valid, 1 entry)', run: (i) => validatePublish(publishes[i & 63]) },
  { name: 'validatePublish (valid, 16 x 200)', run: (i) => validatePublish(widePublishes[i & 63]) },
  { name: 'validateSubscribe (valid)', run: (i) => validateSubscribe(subscribes[i & 63]) },
  { name: 'validateWatchConfig (valid)', run: (i) => validateWatchConfig(watches[i & 63]) },
  { name: 'validatePublish (invalid dataId)', run: (i) => validatePublish(invalidPublishes[i & 63]), slow: true },
  // The class-validator path alone: what every call cost before the hand-written checks.
  { name: 'validatePublishDto (valid)', run: (i) => validatePublishDto(publishes[i & 63]), slow: true },
  { name: 'validatePublishDto (valid, 16 x 200)', run: (i) => validatePublishDto(widePublishes[i & 63]), slow: true },
  { name: 'validateSubscribeDto (valid)', run: (i) => validateSubscribeDto(subscribes[i & 63]), slow: true },
  { name: 'validateWatchConfigDto (valid)', run: (i) => validateWatchConfigDto(watches[i & 63]), slow: true },
];

let sink = 0;
function timeRound(c: Case, n: number): { cpu: number; wall: number } {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (c.run(i) !== undefined) sink++;
  const wall = Number(process.hrtime.bigint() - wall0) / n;
  const cpu = process.cpuUsage(cpu0);
  return { cpu: ((cpu.user + cpu.system) * 1000) / n, wall };
}

function median(values: number[]): number {
  return values.sort((a, b) => a - b)[values.length >> 1];
}

for (const c of cases) {
  // The class-validator path is a hundred times slower: fewer iterations keep the run short.
  const n = c.slow ? Math.max(1000, Math.round(iterations / 100)) : iterations;
  timeRound(c, n);
  const rounds = Array.from({ length: 5 }, () => timeRound(c, n));
  const cpu = median(rounds.map((r) => r.cpu))
    .toFixed(1)
    .padStart(9);
  const wall = median(rounds.map((r) => r.wall))
    .toFixed(1)
    .padStart(9);
  console.log(`${c.name.padEnd(38)} cpu ${cpu} ns/op   wall ${wall} ns/op`);
}
if (sink < 0) console.log(sink);
