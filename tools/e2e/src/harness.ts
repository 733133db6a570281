import { RegistryClient, UserData } from '@sofareg/client';
import { waitFor } from '@sofareg/testing';

/** A subscriber's received pushes, for assertions. */
export interface Recorded {
  pushes: UserData[];
  last(): UserData | undefined;
  /** All addresses of the last push, over every zone, sorted. */
  addresses(): string[];
}

/** Subscribes and records every push. */
export function record(client: RegistryClient, dataId: string, scope: 'zone' | 'dataCenter' | 'global' = 'dataCenter') {
  const rec: Recorded = {
    pushes: [],
    last: () => rec.pushes[rec.pushes.length - 1],
    addresses: () => flatten(rec.last()),
  };
  const sub = client.subscribe({ dataId, scope }, (_id, data) => rec.pushes.push(data));
  return { sub, rec };
}

/** Every address of a push, over all zones, sorted. */
export function flatten(data: UserData | undefined): string[] {
  if (!data) return [];
  return Object.values(data.zoneData).flat().sort();
}

/** Waits until the recorder's latest push lists exactly `want`. */
export function waitForAddresses(rec: Recorded, want: string[], what: string, timeoutMs = 10_000): Promise<true> {
  const sorted = [...want].sort();
  return waitFor(`${what}: want [${sorted}]`, () => {
    const have = rec.addresses();
    return rec.pushes.length > 0 && have.length === sorted.length && have.every((a, i) => a === sorted[i]);
  }, timeoutMs);
}
