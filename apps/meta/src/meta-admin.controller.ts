import {
  ArgumentsHost,
  BadRequestException,
  Body,
  Catch,
  Controller,
  ExceptionFilter,
  Get,
  HttpCode,
  Inject,
  Post,
  Put,
  Query,
  UseFilters,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { PROVIDE_DATA_KEYS } from '@sofareg/model';
import { MetaService } from './meta.service';
import { META_STORE } from './meta.tokens';
import { MetaStoreError, type MetaStore } from './meta-store';

/** The body of an admin error: `code` is stable, `field` names the bad input (400 only). */
export interface AdminErrorBody {
  success: false;
  code: string;
  message: string;
  field?: string;
  /** NotLeader / NoLeader: the leader's client (gRPC) and HTTP admin addresses, '' when unknown. */
  leader?: string;
  leaderHttp?: string;
}

/** A 400 naming the bad field. */
export function invalidField(field: string, message: string): BadRequestException {
  const body: AdminErrorBody = { success: false, code: 'InvalidArgument', field, message: `${field}: ${message}` };
  return new BadRequestException(body);
}

/**
 * Maps a refused or failed write to HTTP. On a follower (`NotLeader` with a known leader): **307 Temporary
 * Redirect** to the same path on the leader's HTTP admin (clients that follow redirects — `curl -L`, fetch —
 * resend the same method and body there). No leader known, or the write's outcome unknown (timeout, leader
 * change): **503** with the code; every admin write is idempotent, so retry it.
 */
@Catch(MetaStoreError)
export class MetaStoreErrorFilter implements ExceptionFilter {
  catch(err: MetaStoreError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    if (err.code === 'NotLeader' && err.leaderHttp) {
      const body: AdminErrorBody = {
        success: false,
        code: 'NotLeader',
        message: err.message,
        leader: err.leader,
        leaderHttp: err.leaderHttp,
      };
      res.status(307).setHeader('Location', `http://${err.leaderHttp}${req.originalUrl}`);
      res.json(body);
      return;
    }
    const code = err.code === 'NotLeader' ? 'NoLeader' : err.code;
    const body: AdminErrorBody = {
      success: false,
      code,
      message: err.message,
      leader: err.leader,
      leaderHttp: err.leaderHttp,
    };
    res.status(503).json(body);
  }
}

const MAX_KEY_LENGTH = 512;
const MAX_VALUE_BYTES = 1 << 20;

const IP_PATTERN = /^[0-9A-Fa-f:.]{2,45}$/;

/** A list of IPs from an array or a comma-separated string, each checked, naming the field on error. */
function ipList(v: unknown, field: string): string[] {
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(/[\s,;]+/).filter(Boolean) : undefined;
  if (!items) throw invalidField(field, 'must be a list of IP addresses (array or comma-separated string)');
  items.forEach((ip, i) => {
    if (typeof ip !== 'string' || !IP_PATTERN.test(ip))
      throw invalidField(`${field}[${i}]`, `must be an IP address, got ${JSON.stringify(ip)}`);
  });
  return [...new Set(items as string[])].sort();
}

function requireIps(body: unknown, allowEmpty = false): string[] {
  const ips = ipList((body as { ips?: unknown } | undefined)?.ips ?? (allowEmpty ? [] : undefined), 'ips');
  if (!allowEmpty && ips.length === 0) throw invalidField('ips', 'must name at least one IP address');
  return ips;
}

function requireKey(body: unknown, field = 'dataInfoId'): string {
  const v = (body as Record<string, unknown> | undefined)?.[field];
  if (typeof v !== 'string' || v.trim() === '') throw invalidField(field, 'must be a non-blank string');
  if (v.length > MAX_KEY_LENGTH) throw invalidField(field, `must be at most ${MAX_KEY_LENGTH} characters`);
  return v;
}

/**
 * Meta's HTTP admin, on SOFARegistry's paths so its operators' scripts keep working. Every node serves it.
 * Reads answer from this node's applied state (a follower may lag the leader by a few milliseconds); writes
 * go through Raft and answer once committed and applied, on the leader only (see {@link MetaStoreErrorFilter}
 * for followers). Invalid bodies get 400 naming the field.
 */
@Controller()
@UseFilters(MetaStoreErrorFilter)
export class MetaAdminController {
  constructor(
    private readonly meta: MetaService,
    @Inject(META_STORE) private readonly store: MetaStore,
  ) {}

  /** The leader as this node knows it, and every member's addresses. */
  @Get('meta/leader/query')
  leader(): Record<string, unknown> {
    const leader = this.store.leaderAddress() ?? null;
    const st = this.store.raftStatus();
    return {
      success: leader !== null,
      leader,
      leaderId: this.store.leaderId() ?? null,
      leaderHttp: this.store.leaderHttpAddress() ?? null,
      isLeader: this.store.isLeader(),
      nodeId: this.store.nodeId,
      term: st?.term ?? 0,
      commit: st?.commit ?? 0,
      applied: st?.applied ?? 0,
      voters: st?.conf.voters ?? [],
    };
  }

  /**
   * Hands leadership to the most caught-up other member (SR's quit election). On a follower there is
   * nothing to quit: it answers 200 with `isLeader: false`. `?to=<nodeId>` picks the successor.
   */
  @Put('meta/leader/quit/election')
  async quitElection(@Query('to') to?: string): Promise<Record<string, unknown>> {
    if (to !== undefined && !(to in (this.store.raftStatus()?.peers ?? {})))
      throw invalidField('to', `'${to}' is not a meta node id`);
    if (!this.store.isLeader()) return { success: true, isLeader: false, leader: this.store.leaderAddress() ?? null };
    const next = await this.store.transferLeadership(to);
    return { success: true, isLeader: false, leaderId: next, leader: this.store.leaderAddress() ?? null };
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

  /** While pushes are stopped, the listed client IPs are still pushed. Body: `{ips: "a,b"}` or `{ips: [..]}`. */
  @Post('stopPushDataSwitch/grayOpen')
  @HttpCode(200)
  async grayOpen(@Body() body: unknown): Promise<{ success: boolean }> {
    await this.meta.propose({
      type: 'putProvideData',
      key: PROVIDE_DATA_KEYS.grayOpen,
      value: requireIps(body, true).join(','),
    });
    return { success: true };
  }

  /**
   * Publish/subscribe blacklists, in SOFARegistry's shape `{FORBIDDEN_PUB: {IP_FULL: [..]},
   * FORBIDDEN_SUB_BY_PREFIX: {IP_FULL: [..]}}` (also `{publish: [..], subscribe: [..]}`). Replaces both lists.
   */
  @Post('blacklist/update')
  @HttpCode(200)
  async blacklist(@Body() body: Record<string, unknown> | undefined): Promise<{ success: boolean }> {
    const pick = (sr: string, short: string) => {
      const v = (body?.[sr] as { IP_FULL?: unknown } | undefined)?.IP_FULL ?? body?.[short] ?? [];
      return ipList(v, sr);
    };
    const pub = pick('FORBIDDEN_PUB', 'publish');
    const sub = pick('FORBIDDEN_SUB_BY_PREFIX', 'subscribe');
    await this.meta.propose({ type: 'putProvideData', key: PROVIDE_DATA_KEYS.publishBlacklist, value: pub.join(',') });
    await this.meta.propose({
      type: 'putProvideData',
      key: PROVIDE_DATA_KEYS.subscribeBlacklist,
      value: sub.join(','),
    });
    return { success: true };
  }

  /** Client-off: the IPs' publishers are removed and their publishes ignored until clientOpen. Body `{ips}`. */
  @Post('api/clientManager/clientOff')
  @HttpCode(200)
  async clientOff(@Body() body: unknown): Promise<{ success: boolean }> {
    await this.meta.propose({
      type: 'editProvideDataList',
      key: PROVIDE_DATA_KEYS.clientOff,
      add: requireIps(body),
      remove: [],
    });
    return { success: true };
  }

  /** Client-open: the IPs leave the client-off list; sessions close their connections so they re-register. */
  @Post('api/clientManager/clientOpen')
  @HttpCode(200)
  async clientOpen(@Body() body: unknown): Promise<{ success: boolean }> {
    await this.meta.propose({
      type: 'editProvideDataList',
      key: PROVIDE_DATA_KEYS.clientOff,
      add: [],
      remove: requireIps(body),
    });
    return { success: true };
  }

  @Post('persistentData/put')
  @HttpCode(200)
  async put(@Body() body: { dataInfoId?: unknown; data?: unknown }): Promise<{ success: boolean }> {
    const key = requireKey(body);
    if (typeof body.data !== 'string') throw invalidField('data', 'must be a string');
    if (Buffer.byteLength(body.data) > MAX_VALUE_BYTES)
      throw invalidField('data', `must be at most ${MAX_VALUE_BYTES} bytes`);
    await this.meta.propose({ type: 'putProvideData', key, value: body.data });
    return { success: true };
  }

  @Post('persistentData/remove')
  @HttpCode(200)
  async remove(@Body() body: { dataInfoId?: unknown }): Promise<{ success: boolean }> {
    const key = requireKey(body);
    await this.meta.propose({ type: 'removeProvideData', key });
    return { success: true };
  }

  @Get('persistentData/query')
  query(@Query('dataInfoId') key?: string): unknown {
    const all = this.store.state.provideData;
    return key ? (all[key] ?? null) : Object.values(all);
  }
}
