/** Separator between the parts of a dataInfoId, as in SOFARegistry. */
export const DATA_INFO_ID_SEPARATOR = '#@#';
export const DEFAULT_GROUP = 'DEFAULT_GROUP';
export const DEFAULT_INSTANCE_ID = 'DEFAULT_INSTANCE_ID';
export const DEFAULT_ZONE = 'DEFAULT_ZONE';
export const DEFAULT_DATA_CENTER = 'DefaultDataCenter';

/** The parts of a dataInfoId. */
export interface DataInfoIdParts {
  dataId: string;
  instanceId: string;
  group: string;
}

/**
 * Builds `dataId#@#instanceId#@#group`, filling SOFARegistry's defaults for a blank instanceId or group.
 * Does not validate: call {@link validatePublish} / {@link validateSubscribe} on untrusted input first.
 */
export function toDataInfoId(dataId: string, instanceId?: string, group?: string): string {
  return (
    dataId +
    DATA_INFO_ID_SEPARATOR +
    (instanceId || DEFAULT_INSTANCE_ID) +
    DATA_INFO_ID_SEPARATOR +
    (group || DEFAULT_GROUP)
  );
}

/** Splits a dataInfoId; returns undefined when it does not have exactly three parts. */
export function parseDataInfoId(dataInfoId: string): DataInfoIdParts | undefined {
  const parts = dataInfoId.split(DATA_INFO_ID_SEPARATOR);
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) return undefined;
  return { dataId: parts[0], instanceId: parts[1], group: parts[2] };
}
