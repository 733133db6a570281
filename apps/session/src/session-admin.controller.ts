import { BadRequestException, Controller, Get, Header, Query } from '@nestjs/common';
import { SessionService } from './session.service';

/** Session's HTTP admin, on SOFARegistry's paths. */
@Controller()
export class SessionAdminController {
  constructor(private readonly session: SessionService) {}

  /** The publishers this session holds for one dataInfoId. */
  @Get('digest/pub/data/query')
  publishers(@Query('dataInfoId') dataInfoId?: string): unknown {
    if (!dataInfoId) throw new BadRequestException('dataInfoId is required');
    return [...this.session.registry.allPublishers()].filter((p) => p.dataInfoId === dataInfoId);
  }

  /** The subscribers this session holds for one dataInfoId. */
  @Get('digest/sub/data/query')
  subscribers(@Query('dataInfoId') dataInfoId?: string): unknown {
    if (!dataInfoId) throw new BadRequestException('dataInfoId is required');
    return [...(this.session.registry.subscribersOf(dataInfoId)?.values() ?? [])];
  }

  /** Sessions of this zone, one `host:port` a line (as SOFARegistry answers). */
  @Get('api/servers/query')
  @Header('Content-Type', 'text/plain')
  servers(): string {
    return this.zoneSessions().map((n) => n.address).join('\n');
  }

  /** Sessions of this zone with their connection counts, for less-loaded selection. */
  @Get('api/servers/queryWithWeight')
  serversWithWeight(): { address: string; weight: number }[] {
    return this.zoneSessions().map((n) => ({ address: n.address, weight: n.address === this.session.selfAddress ? this.session.connections.size : -1 }));
  }

  @Get('connections/query')
  connections(): unknown {
    return [...this.session.connections.values()].map((c) => ({
      connectId: c.connectId,
      peer: c.peer,
      appName: c.hello?.appName,
      clientId: c.hello?.clientId,
      ...this.session.registry.connectionCounts(c.connectId),
    }));
  }

  @Get('openapi/v1/slot/table/content')
  slotTable(): unknown {
    return this.session.slotTable ?? { epoch: 0, slots: [] };
  }

  private zoneSessions() {
    const self = this.session.selfAddress;
    const nodes = this.session.sessionNodes.filter((n) => n.zone === this.sessionZone());
    return nodes.some((n) => n.address === self) ? nodes : [...nodes, { address: self, zone: this.sessionZone() }];
  }

  private sessionZone(): string {
    return this.session.zone;
  }
}
