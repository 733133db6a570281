import { BadRequestException, Body, Controller, Get, Header, HttpCode, Post, Query } from '@nestjs/common';
import { SessionNode } from '@sofareg/session-node';
import { ClientConnections } from './client-connections';
import { ProvideDataService } from './provide-data.service';
import { SessionService } from './session.service';
import { SwitchBoard } from './switch-board';

/** How long a peer's connection count is reused, and how long asking for it may take. */
const PEER_COUNT_TTL_MS = 1_000;
const PEER_COUNT_TIMEOUT_MS = 300;

/** Session's HTTP admin, on SOFARegistry's paths. */
@Controller()
export class SessionAdminController {
  private readonly peerCounts = new Map<string, { at: number; count: number | undefined }>();

  constructor(
    private readonly session: SessionService,
    private readonly node: SessionNode,
    private readonly clients: ClientConnections,
    private readonly provideData: ProvideDataService,
    private readonly switchBoard: SwitchBoard,
  ) {}

  /** The publishers this session holds for one dataInfoId. */
  @Get('digest/pub/data/query')
  publishers(@Query('dataInfoId') dataInfoId?: string): unknown {
    if (!dataInfoId) throw new BadRequestException('dataInfoId is required');
    return [...this.node.registry.allPublishers()].filter((p) => p.dataInfoId === dataInfoId);
  }

  /** The subscribers this session holds for one dataInfoId. */
  @Get('digest/sub/data/query')
  subscribers(@Query('dataInfoId') dataInfoId?: string): unknown {
    if (!dataInfoId) throw new BadRequestException('dataInfoId is required');
    return [...(this.node.registry.subscribersOf(dataInfoId)?.values() ?? [])];
  }

  /** How much this session holds: connections, publishers, subscribers, configurators, pushes in flight. */
  @Get('digest/data/count')
  counts(): {
    connections: number;
    publishers: number;
    subscribers: number;
    configurators: number;
    pendingPushes: number;
  } {
    return {
      connections: this.clients.size,
      publishers: this.node.registry.publisherCount,
      subscribers: this.node.registry.subscriberCount,
      configurators: this.provideData.configWatchers.size,
      pendingPushes: this.session.pendingPushes,
    };
  }

  /** Sessions of this zone, one `host:port` a line (as SOFARegistry answers). */
  @Get('api/servers/query')
  @Header('Content-Type', 'text/plain')
  servers(): string {
    return this.zoneSessions()
      .map((n) => n.address)
      .join('\n');
  }

  /**
   * Sessions of this zone with their client connection counts as weights (lower: less loaded), as JSON
   * `[{address, weight, connections}]`. Each peer's count is read from its admin (`/api/servers/connectionCount`,
   * cached 1 s); a peer that does not answer within 300 ms is left out, so clients avoid a session that just died.
   */
  @Get('api/servers/queryWithWeight')
  async serversWithWeight(): Promise<{ address: string; weight: number; connections: number }[]> {
    const out = await Promise.all(
      this.zoneSessions().map(async (n) => {
        const count = n.address === this.session.selfAddress ? this.clients.size : await this.peerCount(n.httpAddress);
        return count === undefined ? undefined : { address: n.address, weight: count, connections: count };
      }),
    );
    return out.filter((x): x is { address: string; weight: number; connections: number } => x !== undefined);
  }

  /** This session's client connection count (what peers ask for their weights). */
  @Get('api/servers/connectionCount')
  @Header('Content-Type', 'text/plain')
  connectionCount(): string {
    return String(this.clients.size);
  }

  /**
   * Removes the publishers of client connections of this session (connections and subscribers stay): by
   * `connectIds`, or every connection from one of `ips`. Unlike meta's client-off list this is not kept: a
   * client that reconnects registers again. Answers the connections acted on.
   */
  @Post('api/clients/off')
  @HttpCode(200)
  clientsOff(@Body() body: { connectIds?: unknown; ips?: unknown }): { success: boolean; connectIds: string[] } {
    const list = (v: unknown, name: string): string[] => {
      if (v === undefined) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
        throw new BadRequestException(`${name} must be an array of strings`);
      return v as string[];
    };
    const connectIds = list(body?.connectIds, 'connectIds');
    const ips = list(body?.ips, 'ips');
    if (connectIds.length === 0 && ips.length === 0) throw new BadRequestException('give connectIds or ips');
    const done = [...this.provideData.clientOffConnections(connectIds), ...this.provideData.clientOffIps(ips)];
    return { success: true, connectIds: [...new Set(done)] };
  }

  /** The switches this session applies (from meta's provide-data). */
  @Get('api/switches/query')
  switches(): unknown {
    const state = this.switchBoard.state;
    return {
      stopPush: state.stopPush,
      grayOpen: [...state.grayOpen],
      clientOff: [...state.clientOff],
      publishBlacklist: [...state.publishBlacklist],
      subscribeBlacklist: [...state.subscribeBlacklist],
      pendingPushes: this.session.pendingPushes,
    };
  }

  @Get('connections/query')
  connections(): unknown {
    return [...this.clients.values()].map((c) => ({
      connectId: c.connectId,
      peer: c.peer,
      clientIp: c.clientIp,
      queuedMessages: c.queuedMessages,
      appName: c.hello?.appName,
      clientId: c.hello?.clientId,
      ...this.node.registry.connectionCounts(c.connectId),
    }));
  }

  @Get('openapi/v1/slot/table/content')
  slotTable(): unknown {
    return this.session.slotTable ?? { epoch: 0, slots: [] };
  }

  private zoneSessions(): { address: string; httpAddress: string }[] {
    const self = this.session.selfAddress;
    const nodes = this.session.sessionNodes.filter((n) => n.zone === this.sessionZone());
    return nodes.some((n) => n.address === self) ? nodes : [...nodes, { address: self, httpAddress: '' }];
  }

  private async peerCount(httpAddress: string): Promise<number | undefined> {
    if (!httpAddress) return undefined;
    const now = Date.now();
    const cached = this.peerCounts.get(httpAddress);
    if (cached && now - cached.at < PEER_COUNT_TTL_MS) return cached.count;
    let count: number | undefined;
    try {
      const res = await fetch(`http://${httpAddress}/api/servers/connectionCount`, {
        signal: AbortSignal.timeout(PEER_COUNT_TIMEOUT_MS),
      });
      const n = res.ok ? Number(await res.text()) : NaN;
      count = Number.isInteger(n) && n >= 0 ? n : undefined;
    } catch {
      count = undefined; // down or slow: left out of the list
    }
    this.peerCounts.set(httpAddress, { at: now, count });
    if (this.peerCounts.size > 1_000) this.peerCounts.clear();
    return count;
  }

  private sessionZone(): string {
    return this.session.zone;
  }
}
