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
  for (const zone of [...byZone.keys()].sort())
    key += `${zone}\u0000${(byZone.get(zone) as string[]).sort().join('\u0001')}\u0002`;
  return key;
}

/** Since which version a view's addresses are unchanged, and their {@link contentKey}. */
export interface ContentMark {
  readonly version: number;
  readonly key: string;
}

/**
 * Per dataInfoId and view (`zone`, or every zone for `dataCenter`/`global`): the lowest cached version since
 * which that view's addresses are unchanged. A subscriber that acknowledged (or was sent) that version or a
 * later one already holds what a newer version would show, and is not pushed it.
 */
export interface ContentSince {
  zone?: ContentMark;
  all?: ContentMark;
}

/**
 * Updates `since` (or a new record) for a datum at `version` becoming the one served, for the views that
 * `subscribers` use; views no subscriber uses are dropped. Returns the record. Pure apart from updating `since`.
 */
export function trackContent(
  since: ContentSince | undefined,
  publishers: readonly PublishedData[],
  version: number,
  subscribers: Iterable<Pick<SubscriberState, 'scope'>>,
  localZone: string,
): ContentSince {
  let zone = false;
  let all = false;
  for (const s of subscribers) {
    if (s.scope === 'zone') zone = true;
    else all = true;
    if (zone && all) break;
  }
  const c = since ?? {};
  const mark = (prev: ContentMark | undefined, scope: Scope): ContentMark => {
    const key = contentKey(publishers, scope, localZone);
    return !prev || prev.key !== key || prev.version > version ? { version, key } : prev;
  };
  if (zone) c.zone = mark(c.zone, 'zone');
  else delete c.zone;
  if (all) c.all = mark(c.all, 'dataCenter');
  else delete c.all;
  return c;
}
