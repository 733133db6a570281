import { BadRequestException, Controller, Get, Inject, Query } from '@nestjs/common';
import type { DataServerCore } from '@sofareg/data-core';
import { HashRing } from '@sofareg/hash-ring';
import { DATA_CORE } from './data.tokens';

/** Data's HTTP admin, on SOFARegistry's paths. */
@Controller()
export class DataAdminController {
  constructor(
    @Inject(DATA_CORE) private readonly core: DataServerCore,
    private readonly ring: HashRing,
  ) {}

  /** The publishers of one dataInfoId, with the datum version. */
  @Get('digest/datum/query')
  datum(@Query('dataInfoId') dataInfoId?: string): unknown {
    if (!dataInfoId) throw new BadRequestException('dataInfoId is required');
    const slotId = this.core.slotIdOf(dataInfoId);
    const slot = slotId === undefined ? undefined : this.core.slots.get(slotId);
    const entry = slot?.store.get(dataInfoId);
    return {
      dataInfoId,
      slot: slotId ?? null,
      role: slot?.role ?? null,
      version: entry?.version ?? 0,
      publishers: entry ? [...entry.publishers.values()] : [],
    };
  }

  /** Datums and publishers held, as leader and as follower. */
  @Get('digest/datum/count')
  count(): { leader: { datums: number; publishers: number }; follower: { datums: number; publishers: number } } {
    const out = { leader: { datums: 0, publishers: 0 }, follower: { datums: 0, publishers: 0 } };
    for (const s of this.core.slots.values()) {
      out[s.role].datums += s.store.size;
      out[s.role].publishers += s.store.publishers;
    }
    return out;
  }

  @Get('openapi/v1/slot/table/content')
  slotTable(): unknown {
    return this.ring.table ?? { epoch: 0, slots: [] };
  }

  /** Per slot this server holds: its role and state. */
  @Get('openapi/v1/slot/table/status')
  slotStatus(): unknown {
    const table = this.core.slotTable;
    if (!table) return { epoch: 0, slots: [] };
    return {
      epoch: table.epoch,
      slots: [...this.core.slots.values()]
        .sort((a, b) => a.id - b.id)
        .map((s) => ({
          id: s.id,
          role: s.role,
          leaderEpoch: s.leaderEpoch,
          state: s.status,
          syncPendingSessions: s.pendingSessions ? [...s.pendingSessions] : null,
          publishers: s.store.publishers,
          ...(s.role === 'leader'
            ? { seq: s.seq, followers: Object.fromEntries([...s.progress].map(([f, p]) => [f, p.nextSeq])) }
            : { nextSeq: s.nextSeq }),
        })),
    };
  }
}
