import { Injectable } from '@nestjs/common';

/**
 * Whether the session has started (meta followed, node running) and not begun stopping. The gRPC ports are
 * bound before the app initializes, so calls may arrive earlier: they are refused until `started`.
 */
@Injectable()
export class SessionReadiness {
  started = false;
  stopping = false;
}
