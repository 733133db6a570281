export * from './change-feed';
export * from './data-router';
export * from './push-pipeline';
export * from './session-node';
export * from './session-port';
