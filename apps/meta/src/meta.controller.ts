import { Controller } from '@nestjs/common';
import { GrpcMethod, GrpcStreamCall } from '@nestjs/microservices';
import {
  Empty,
  GetProvideDataRequest,
  GetProvideDataResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  LeaveRequest,
  ListNodesRequest,
  ListNodesResponse,
  SlotTable,
} from '@sofareg/contracts';
import { LeadershipService } from './leadership.service';
import { MetaService } from './meta.service';
import { WatchHub, type Watcher } from './watch-hub.service';

/**
 * The gRPC MetaService that session and data servers call (served by `GrpcJsTransport` on the client port,
 * 9610): heartbeats, the watch stream, leave, and reads of the applied state. Errors map to gRPC status in the
 * transport (a store refusal, e.g. a write that timed out, is UNAVAILABLE); NotLeader is an answer, not an error.
 */
@Controller()
export class MetaController {
  constructor(
    private readonly meta: MetaService,
    private readonly leadership: LeadershipService,
    private readonly watches: WatchHub,
  ) {}

  @GrpcMethod('MetaService', 'Heartbeat')
  heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.meta.heartbeat(req);
  }

  @GrpcStreamCall('MetaService', 'Watch')
  watch(call: Watcher): void {
    this.watches.open(call, this.leadership.leads());
  }

  @GrpcMethod('MetaService', 'Leave')
  leave(req: LeaveRequest): Promise<Empty> {
    return this.meta.leave(req);
  }

  @GrpcMethod('MetaService', 'GetSlotTable')
  getSlotTable(): SlotTable {
    return this.meta.slotTable();
  }

  @GrpcMethod('MetaService', 'ListNodes')
  listNodes(req: ListNodesRequest): ListNodesResponse {
    return this.meta.listNodes(req.role);
  }

  @GrpcMethod('MetaService', 'GetProvideData')
  getProvideData(req: GetProvideDataRequest): GetProvideDataResponse {
    return this.meta.provideData(req);
  }
}
