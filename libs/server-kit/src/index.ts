export * from './admin.controller';
export * from './bootstrap';
export * from './config';
export * from './grpc';
export * from './logger';
export * from './meta-client';
export * from './meta-client.module';
export {
  META_CLIENT_OPTIONS,
  META_CLIENT_OPTIONS_TYPE,
  META_CLIENT_ASYNC_OPTIONS_TYPE,
} from './meta-client.module-definition';
export * from './meta-client.tokens';
export * from './metrics';
export * from './microservice';
export * from './pool';
export * from './server-kit.tokens';
export * from './stream-caller';
