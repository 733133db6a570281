/**
 * @sofareg/client: the library applications link to publish, subscribe and watch configuration through a
 * sofareg session server. The NestJS module is in `@sofareg/client/nest`; test doubles in
 * `@sofareg/client/testing`.
 */
export { RegistryClient } from './registry-client';
export type {
  ClientStats,
  PublishRegistration,
  SessionInfo,
  SubscribeRegistration,
  WatchConfigRegistration,
} from './registry-client';
export type {
  Configurator,
  ConfiguratorCallback,
  Publisher,
  Registration,
  RegistrationKind,
  Subscriber,
  SubscriberCallback,
  SyncedOptions,
} from './registrations';
export type { StatusEvent, StatusEventType } from './status';
export { CLIENT_DEFAULTS, resolveClientOptions } from './options';
export type { RegistryClientOptions, ResolvedClientOptions } from './options';
export { DEFAULT_RECONNECT_POLICY, backoffDelay } from './core/backoff';
export type { ReconnectPolicy } from './core/backoff';
export { INITIAL_CONNECTION_STATE, step as connectionStep } from './core/connection-machine';
export type {
  ConnectionEffect,
  ConnectionEvent,
  ConnectionMachineConfig,
  ConnectionPhase,
  ConnectionState,
} from './core/connection-machine';
export { isHostPort, parseServerList, parseWeightedServerList, pickLessLoaded } from './core/server-selection';
export type { SessionCandidate } from './core/server-selection';
export { discoverSessions } from './discovery';
export type { DiscoveryOptions, FetchLike } from './discovery';
export { GrpcTransport, grpcChannelOptions, MAX_RECEIVE_MESSAGE_BYTES } from './grpc-transport';
export type { GrpcTransportOptions } from './grpc-transport';
export type { Transport, TransportConnection, TransportHandlers } from './transport';
export { systemClock } from './clock';
export type { Clock } from './clock';
export { consoleJsonLogger, silentLogger } from './logger';
export type { ConsoleJsonLoggerOptions, Logger, LogLevel } from './logger';
export { CLIENT_VERSION } from './version';
// Re-exported from the shared model so applications need no second package.
export {
  DEFAULT_DATA_CENTER,
  DEFAULT_GROUP,
  DEFAULT_INSTANCE_ID,
  DEFAULT_ZONE,
  ErrorCode,
  RegistryError,
  SCOPES,
} from '@sofareg/model';
export type { ErrorValue, Scope, UserDataValue } from '@sofareg/model';
