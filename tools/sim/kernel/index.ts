// The deterministic simulation kernel shared by every simulation under tools/sim: one event queue and virtual
// clock, one simulated network, one seeded random source. Nothing here reads the wall clock or Math.random.
export { SeededRandom } from '@sofareg/model';
export { EventQueue } from './event-queue';
export { SimClock } from './sim-clock';
export { SimNetwork, type NetworkFaults } from './sim-network';
