import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { PROVIDE_DATA_KEYS } from '@sofareg/model';
import { MetaService } from './meta.service';
import { META_STORE } from './meta.tokens';
import type { MetaStore } from './meta-store';

/** Meta's HTTP admin, on SOFARegistry's paths so its operators' scripts keep working. */
@Controller()
export class MetaAdminController {
  constructor(
    private readonly meta: MetaService,
    @Inject(META_STORE) private readonly store: MetaStore,
  ) {}

  @Get('meta/leader/query')
  leader(): { success: boolean; leader: string | null; isLeader: boolean } {
    const leader = this.store.leaderAddress() ?? null;
    return { success: leader !== null, leader, isLeader: this.store.isLeader() };
  }

  @Get('openapi/v1/slot/table/content')
  slotTable(): unknown {
    return this.store.state.slotTable ?? { epoch: 0, slots: [] };
  }

  @Get('digest/data/node/query')
  dataNodes(): unknown {
    return Object.values(this.store.state.dataNodes);
  }

  @Get('digest/session/node/query')
  sessionNodes(): unknown {
    return Object.values(this.store.state.sessionNodes);
  }

  /** Stops every push cluster-wide until closed. */
  @Get('stopPushDataSwitch/open')
  async stopPushOpen(): Promise<{ success: boolean }> {
    await this.meta.propose({ type: 'putProvideData', key: PROVIDE_DATA_KEYS.stopPush, value: 'true' });
    return { success: true };
  }

  @Get('stopPushDataSwitch/close')
  async stopPushClose(): Promise<{ success: boolean }> {
    await this.meta.propose({ type: 'putProvideData', key: PROVIDE_DATA_KEYS.stopPush, value: 'false' });
    return { success: true };
  }

  @Post('persistentData/put')
  @HttpCode(200)
  async put(@Body() body: { dataInfoId?: unknown; data?: unknown }): Promise<{ success: boolean }> {
    if (typeof body?.dataInfoId !== 'string' || body.dataInfoId.trim() === '') throw new BadRequestException('dataInfoId must be a non-blank string');
    if (typeof body.data !== 'string') throw new BadRequestException('data must be a string');
    await this.meta.propose({ type: 'putProvideData', key: body.dataInfoId, value: body.data });
    return { success: true };
  }

  @Post('persistentData/remove')
  @HttpCode(200)
  async remove(@Body() body: { dataInfoId?: unknown }): Promise<{ success: boolean }> {
    if (typeof body?.dataInfoId !== 'string' || body.dataInfoId.trim() === '') throw new BadRequestException('dataInfoId must be a non-blank string');
    await this.meta.propose({ type: 'removeProvideData', key: body.dataInfoId });
    return { success: true };
  }

  @Get('persistentData/query')
  query(@Query('dataInfoId') key?: string): unknown {
    const all = this.store.state.provideData;
    return key ? (all[key] ?? null) : Object.values(all);
  }
}
