import { PublishedData, Scope, UserDataValue, buildUserData } from '@sofareg/model';
import type { SubscriberState } from './session-registry';

/** One push to one client connection, serving every listed subscriber of it. */
export interface PlannedPush {
  connectId: string;
  registerIds: string[];
  data: UserDataValue;
}

/**
 * Decides what to push for a datum at `version`: only subscribers not yet sent (nor acknowledged) `version` or
 * a newer one, and accepted by `eligible` (switches, backoff, breaker), are served; subscribers of one
 * connection with the same scope share one push. Pure.
 */
export function planPushes(
  subscribers: Iterable<SubscriberState>,
  publishers: readonly PublishedData[],
  version: number,
  localZone: string,
  eligible?: (s: SubscriberState) => boolean,
): PlannedPush[] {
  const groups = new Map<string, { connectId: string; scope: Scope; registerIds: string[] }>();
  for (const s of subscribers) {
    if (s.pushedVersion >= version || s.ackedVersion >= version) continue;
    if (eligible && !eligible(s)) continue;
    const key = `${s.connectId}\u0000${s.scope}`;
    let g = groups.get(key);
    if (!g) {
      g = { connectId: s.connectId, scope: s.scope, registerIds: [] };
      groups.set(key, g);
    }
    g.registerIds.push(s.registerId);
  }
  const byScope = new Map<Scope, UserDataValue>();
  const out: PlannedPush[] = [];
  for (const g of groups.values()) {
    let data = byScope.get(g.scope);
    if (!data) {
      data = buildUserData(publishers, g.scope, localZone, version);
      byScope.set(g.scope, data);
    }
    out.push({ connectId: g.connectId, registerIds: g.registerIds, data });
  }
  return out;
}

/**
 * A string that is equal for two datums exactly when a subscriber of `scope` would be pushed the same addresses
 * per zone, as sets (order aside: it follows registration times, which change when a publisher only moves to
 * another session). Used to skip pushing a new version whose addresses a subscriber already holds. Pure.
 */
export function contentKey(publishers: readonly PublishedData[], scope: Scope, localZone: string): string {
  const byZone = new Map<string, string[]>();
  for (const p of publishers) {
    if (scope === 'zone' && p.zone !== localZone) continue;
    let list = byZone.get(p.zone);
    if (!list) byZone.set(p.zone, (list = []));
    for (const a of p.dataList) list.push(a);
  }
  let key = '';
  for (const zone of [...byZone.keys()].sort()) key += `${zone}\u0000${(byZone.get(zone) as string[]).sort().join('\u0001')}\u0002`;
  return key;
}
