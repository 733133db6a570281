import { RegistryClient } from '@sofareg/client';
import { UserDataValue as UserData } from '@sofareg/model';
import { waitFor } from '@sofareg/testing';

/** A subscriber's received pushes, for assertions. */
export interface Recorded {
  pushes: UserData[];
  last(): UserData | undefined;
  /** All addresses of the last push, over every zone, sorted. */
  addresses(): string[];
  /** Resolves on the first push (from now) whose addresses are exactly `want`, timed from the callback. */
  next(want: string[]): Promise<void>;
}

/** Subscribes and records every push. */
export function record(client: RegistryClient, dataId: string, scope: 'zone' | 'dataCenter' | 'global' = 'dataCenter') {
  const waiters: { want: string; resolve: () => void }[] = [];
  const rec: Recorded = {
    pushes: [],
    last: () => rec.pushes[rec.pushes.length - 1],
    addresses: () => flatten(rec.last()),
    next: (want) => new Promise<void>((resolve) => waiters.push({ want: [...want].sort().join(), resolve })),
  };
  const sub = client.subscribe({ dataId, scope }, (_id, data) => {
    rec.pushes.push(data);
    const have = flatten(data).join();
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].want === have) waiters.splice(i, 1)[0].resolve();
    }
  });
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
  return waitFor(
    `${what}: want [${sorted}]`,
    () => {
      const have = rec.addresses();
      return rec.pushes.length > 0 && have.length === sorted.length && have.every((a, i) => a === sorted[i]);
    },
    timeoutMs,
  );
}

/** Resolves with `p`, or rejects naming `what` after `ms`; leaves no timer behind. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
