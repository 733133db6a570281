import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { DataService } from './data.service';

/** Data's HTTP admin, on SOFARegistry's paths. */
@Controller()
export class DataAdminController {
  constructor(private readonly data: DataService) {}

  /** The publishers of one dataInfoId, with the datum version. */
  @Get('digest/datum/query')
  datum(@Query('dataInfoId') dataInfoId?: string): unknown {
    if (!dataInfoId) throw new BadRequestException('dataInfoId is required');
    const e = this.data.store.get(dataInfoId);
    return { dataInfoId, version: e?.version ?? 0, publishers: e ? [...e.publishers.values()] : [] };
  }

  @Get('digest/datum/count')
  count(): { datums: number; publishers: number } {
    return { datums: this.data.store.size, publishers: this.data.store.publishers };
  }

  @Get('openapi/v1/slot/table/content')
  slotTable(): unknown {
    return this.data.slotTable ?? { epoch: 0, slots: [] };
  }

  /** Per slot this server holds: its role and state. */
  @Get('openapi/v1/slot/table/status')
  slotStatus(): unknown {
    const table = this.data.slotTable;
    const self = this.data.selfAddress;
    if (!table) return { epoch: 0, slots: [] };
    return {
      epoch: table.epoch,
      slots: table.slots
        .filter((s) => s.leader === self || s.followers.includes(self))
        .map((s) => ({ id: s.id, role: s.leader === self ? 'leader' : 'follower', leaderEpoch: s.leaderEpoch, state: 'Accept' })),
    };
  }
}
