export * from './grpc-exception.filter';
export * from './grpc-js.transport';
export * from './grpc-routes';
export * from './grpc-status';
export * from './use-grpc-transports';
