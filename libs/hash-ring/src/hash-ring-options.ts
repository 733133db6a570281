import { DEFAULT_SLOT_COUNT, MAX_REPLICAS, isValidSlotCount } from '@sofareg/consistent-hash';

/** Options of `HashRingModule.forRoot` / `forRootAsync` (and of `new HashRing(...)`). */
export interface HashRingModuleOptions {
  /** Slots of the cluster, a power of two from 1 to 65536; default 256. Fixed per cluster. */
  slots?: number;
  /** Replicas per slot, leader included, from 1 to 16; default 2. */
  replicas?: number;
}

/** {@link HashRingModuleOptions} with defaults applied, validated and frozen. */
export type HashRingSettings = Readonly<Required<HashRingModuleOptions>>;

/** Default replicas per slot (the roles' `--replicas` default). */
export const DEFAULT_REPLICAS = 2;

/**
 * Applies defaults and validates, once, at boot.
 * @throws Error naming the option and the accepted range when `slots` or `replicas` is out of range.
 */
export function resolveHashRingOptions(options: HashRingModuleOptions = {}): HashRingSettings {
  const slots = options.slots ?? DEFAULT_SLOT_COUNT;
  const replicas = options.replicas ?? DEFAULT_REPLICAS;
  if (!isValidSlotCount(slots)) {
    throw new Error(`hash ring option slots must be a power of two from 1 to 65536, got ${String(slots)}`);
  }
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw new Error(`hash ring option replicas must be an integer from 1 to ${MAX_REPLICAS}, got ${String(replicas)}`);
  }
  return Object.freeze({ slots, replicas });
}
