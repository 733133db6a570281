import { Controller } from '@nestjs/common';
import { GrpcStreamCall } from '@nestjs/microservices';
import type { ClientMessage, ServerMessage } from '@sofareg/contracts';
import type { grpc } from '@sofareg/server-kit';
import { ClientStreamService } from './client-stream.service';

/** SessionService (the client port, 9600): one long-lived stream per client connection. */
@Controller()
export class SessionController {
  constructor(private readonly streams: ClientStreamService) {}

  /** A client's stream: admitted, then every frame it sends is dispatched until it closes. */
  @GrpcStreamCall('SessionService', 'Connect')
  connect(call: grpc.ServerDuplexStream<ClientMessage, ServerMessage>): void {
    this.streams.accept(call);
  }
}
