import * as grpc from '@grpc/grpc-js';
import { CLIENT_CHANNEL_OPTIONS } from './grpc';

type ClientCtor<C> = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => C;

/** One client per remote address, created on first use, closed together. */
export class ClientPool<C extends grpc.Client> {
  private readonly clients = new Map<string, C>();

  constructor(private readonly ctor: ClientCtor<C>) {}

  get(address: string): C {
    let c = this.clients.get(address);
    if (!c) {
      c = new this.ctor(address, grpc.credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
      this.clients.set(address, c);
    }
    return c;
  }

  /** Closes and forgets the client of one address (e.g. a server that left). */
  drop(address: string): void {
    this.clients.get(address)?.close();
    this.clients.delete(address);
  }

  closeAll(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
