export { arrange } from './arrange';
export { checkTable, type CheckContext, type TableViolation, type TableViolationCode } from './check-table';
export { crc32c, crc32cOfBytes, crc32cOfString } from './crc32c';
export { diffTables, type ServerMovement, type TableDiff } from './diff-tables';
export { ConsistentHashError, type ConsistentHashErrorCode } from './errors';
export { DEFAULT_SLOT_COUNT, MAX_SLOT_COUNT, isValidSlotCount, slotOf, slotOfCrc } from './slot-function';
export { MAX_REPLICAS, readyToLead, type ArrangeOptions, type SlotReplica, type SlotTable } from './slot-table';
