export * from './data-info-id';
export * from './errors';
export * from './ordering';
export * from './scope';
export * from './user-data';
export * from './validation';
export * from './digest';
export * from './seeded-random';
