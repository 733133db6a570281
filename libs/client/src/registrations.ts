import { ErrorCode, RegistryError, Scope, UserDataValue } from '@sofareg/model';
import type { Clock } from './clock';
import type {
  ConfiguratorRecord,
  PublisherRecord,
  RegistrationRecord,
  SubscriberRecord,
} from './core/registration-book';

/** What a registration is: a publisher, a subscriber or a configurator. */
export type RegistrationKind = RegistrationRecord['kind'];

/** Options of `synced()`. */
export interface SyncedOptions {
  /** Reject with `Unavailable` when not acknowledged within this time. Default: wait as long as it takes. */
  timeoutMs?: number;
}

/** What every registration handle offers. */
export interface Registration {
  /** A UUID per registration; the session and data servers key it by this. */
  readonly registerId: string;
  readonly kind: RegistrationKind;
  /** True until `unregister()`, a refusal by the session, or `client.close()`. */
  readonly active: boolean;
  /**
   * Resolves once the session has acknowledged this registration (for a publisher: the version current at
   * the time of the call, or a later one). Stays pending across reconnects (the registration is replayed);
   * rejects with the session's error when it refused the registration for good (`InvalidArgument`,
   * `Blocked`), and with `Closed` once unregistered or once the client is closed.
   */
  synced(options?: SyncedOptions): Promise<void>;
  /**
   * Removes the registration. Resolves once the session confirmed it, or at once when not connected (the
   * session dropped everything of the closed connection already). Idempotent: later calls return the same
   * promise. Rejects only if the session refused the unregister.
   */
  unregister(): Promise<void>;
}

/** A publisher of one dataInfoId. */
export interface Publisher extends Registration {
  readonly kind: 'publisher';
  readonly dataId: string;
  readonly dataInfoId: string;
  /** The version the client wants the session to hold: 1, then +1 per republish. */
  readonly version: number;
  /** The highest version the session acknowledged; 0 before the first acknowledgement. */
  readonly ackedVersion: number;
  readonly dataList: readonly string[];
  /**
   * Replaces the published data and bumps the version. Validated first: throws `InvalidArgument` (naming the
   * field and rule) without changing anything, or `Closed` when the publisher is no longer active.
   */
  republish(...dataList: string[]): void;
}

/** Called with each newer datum of a subscribed dataId. What it throws (or a promise it returns rejects with) is logged, never propagated. */
export type SubscriberCallback = (dataId: string, data: UserDataValue) => unknown;

/** A subscriber of one dataInfoId. */
export interface Subscriber extends Registration {
  readonly kind: 'subscriber';
  readonly dataId: string;
  readonly dataInfoId: string;
  readonly scope: Scope;
  /** The last datum delivered, or undefined before the first push. */
  peekData(): UserDataValue | undefined;
}

/** Called with each newer value of a watched key; `value` is undefined when the key does not exist. */
export type ConfiguratorCallback = (key: string, value: string | undefined, version: number) => unknown;

/** A configurator: a watch of one provide-data key. */
export interface Configurator extends Registration {
  readonly kind: 'configurator';
  readonly key: string;
  /** The last value delivered (undefined when the key does not exist or before the first push). */
  peekValue(): string | undefined;
}

/** What a handle needs from its client. */
export interface RegistrationHost {
  readonly clock: Clock;
  republish(handle: PublisherHandle, dataList: string[]): void;
  unregister(handle: RegistrationHandle): Promise<void>;
}

interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (e: RegistryError) => void;
  timer?: unknown;
}

/** Shared waiter bookkeeping of the three handle kinds. Internal: applications see the interfaces. */
export abstract class RegistrationHandle implements Registration {
  abstract readonly kind: RegistrationKind;
  private waiters: Waiter[] = [];
  private terminal: RegistryError | undefined;
  /** Set by the client when unregister() was called; later calls return it. */
  unregistering: Promise<void> | undefined;

  protected constructor(
    protected readonly host: RegistrationHost,
    readonly record: RegistrationRecord,
  ) {}

  get registerId(): string {
    return this.record.registerId;
  }

  get active(): boolean {
    return this.terminal === undefined;
  }

  /** The acknowledged level that satisfies a waiter created now. */
  protected abstract currentTarget(): number;
  /** The acknowledged level reached so far. */
  protected abstract reached(): number;

  synced(options: SyncedOptions = {}): Promise<void> {
    if (this.terminal) return Promise.reject(this.terminal);
    const target = this.currentTarget();
    if (this.reached() >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { target, resolve, reject };
      if (options.timeoutMs !== undefined) {
        waiter.timer = this.host.clock.setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(
            new RegistryError({
              code: ErrorCode.Unavailable,
              message: `registration ${this.registerId} not acknowledged within ${options.timeoutMs} ms; it stays registered and is retried`,
            }),
          );
        }, options.timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  unregister(): Promise<void> {
    this.unregistering ??= this.host.unregister(this);
    return this.unregistering;
  }

  /** The session acknowledged up to `level`: resolves the waiters it satisfies. */
  settle(): void {
    const level = this.reached();
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (level >= w.target) {
        this.host.clock.clearTimeout(w.timer);
        w.resolve();
      } else still.push(w);
    }
    this.waiters = still;
  }

  /** Ends the registration: pending and later `synced()` calls reject with `error`. Idempotent. */
  fail(error: RegistryError): void {
    if (this.terminal) return;
    this.terminal = error;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      this.host.clock.clearTimeout(w.timer);
      w.reject(error);
    }
  }

  /** Throws when the registration is no longer active. */
  protected assertActive(): void {
    if (this.terminal) throw this.terminal;
  }
}

/** @internal */
export class PublisherHandle extends RegistrationHandle implements Publisher {
  readonly kind = 'publisher' as const;

  constructor(
    host: RegistrationHost,
    override readonly record: PublisherRecord,
  ) {
    super(host, record);
  }

  get dataId(): string {
    return this.record.dataId;
  }
  get dataInfoId(): string {
    return this.record.dataInfoId;
  }
  get version(): number {
    return this.record.version;
  }
  get ackedVersion(): number {
    return this.record.ackedVersion;
  }
  get dataList(): readonly string[] {
    return this.record.dataList;
  }

  republish(...dataList: string[]): void {
    this.assertActive();
    this.host.republish(this, dataList);
  }

  protected currentTarget(): number {
    return this.record.version;
  }
  protected reached(): number {
    return this.record.ackedVersion;
  }
}

/** @internal */
export class SubscriberHandle extends RegistrationHandle implements Subscriber {
  readonly kind = 'subscriber' as const;

  constructor(
    host: RegistrationHost,
    override readonly record: SubscriberRecord,
    readonly callback: SubscriberCallback,
  ) {
    super(host, record);
  }

  get dataId(): string {
    return this.record.dataId;
  }
  get dataInfoId(): string {
    return this.record.dataInfoId;
  }
  get scope(): Scope {
    return this.record.scope;
  }
  peekData(): UserDataValue | undefined {
    return this.record.data;
  }

  protected currentTarget(): number {
    return 1;
  }
  protected reached(): number {
    return this.record.acked ? 1 : 0;
  }
}

/** @internal */
export class ConfiguratorHandle extends RegistrationHandle implements Configurator {
  readonly kind = 'configurator' as const;

  constructor(
    host: RegistrationHost,
    override readonly record: ConfiguratorRecord,
    readonly callback: ConfiguratorCallback,
  ) {
    super(host, record);
  }

  get key(): string {
    return this.record.key;
  }
  peekValue(): string | undefined {
    return this.record.value;
  }

  protected currentTarget(): number {
    return 1;
  }
  protected reached(): number {
    return this.record.acked ? 1 : 0;
  }
}
