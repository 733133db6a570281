import { Scope } from './scope';

/** The addresses a subscriber is pushed, grouped by zone. */
export interface UserDataValue {
  zoneData: Record<string, string[]>;
  localZone: string;
  version: number;
}

/** The publisher fields that a push depends on. */
export interface PublishedData {
  zone: string;
  dataList: readonly string[];
  registerTimestamp: number;
  registerId: string;
}

/**
 * Builds what one subscriber is pushed from a datum's publishers. Scope `zone` keeps only publishers of
 * `localZone`; `dataCenter` and `global` keep every zone. Within a zone, publishers are ordered by
 * registration time (then registerId) so that every push of one version is identical.
 */
export function buildUserData(
  publishers: Iterable<PublishedData>,
  scope: Scope,
  localZone: string,
  version: number,
): UserDataValue {
  const picked: PublishedData[] = [];
  for (const p of publishers) {
    if (scope === 'zone' && p.zone !== localZone) continue;
    picked.push(p);
  }
  picked.sort(
    (a, b) =>
      a.registerTimestamp - b.registerTimestamp ||
      (a.registerId < b.registerId ? -1 : a.registerId > b.registerId ? 1 : 0),
  );
  const zoneData: Record<string, string[]> = {};
  for (const p of picked) {
    (zoneData[p.zone] ??= []).push(...p.dataList);
  }
  return { zoneData, localZone, version };
}
