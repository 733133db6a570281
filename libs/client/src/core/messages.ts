import type { ClientMessage, UserData } from '@sofareg/contracts';
import type { UserDataValue } from '@sofareg/model';

/**
 * Converts a pushed `UserData` (zone → `{dataList}`) into the shape applications get (zone → string[]).
 * A missing payload becomes an empty datum of version 0. The result is frozen: callbacks share it.
 */
export function toUserDataValue(data: UserData | undefined, fallbackZone: string): UserDataValue {
  const zoneData: Record<string, string[]> = {};
  for (const [zone, entry] of Object.entries(data?.zoneData ?? {})) {
    zoneData[zone] = Object.freeze([...(entry?.dataList ?? [])]) as string[];
  }
  return Object.freeze({
    zoneData: Object.freeze(zoneData),
    localZone: data?.localZone || fallbackZone,
    version: data?.version ?? 0,
  });
}

/** The `$case` names of client messages, for logs and tests. */
export type ClientMessageCase = NonNullable<ClientMessage['body']>['$case'];

/** The `$case` of a client message, or `'empty'`. */
export function messageCase(message: ClientMessage): ClientMessageCase | 'empty' {
  return message.body?.$case ?? 'empty';
}
