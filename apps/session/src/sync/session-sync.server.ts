import {
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  Publisher,
  SessionSyncServiceService,
  SlotDigestRequest,
  SlotDigestResponse,
} from '@sofareg/contracts';
import { digestRegistrations } from '@sofareg/model';
import { GrpcServerHandle, Logger, grpc, startGrpcServer } from '@sofareg/server-kit';
import { SlotIndex } from './slot-index';

/** What the sync server reads from the session. */
export interface SessionSyncSource {
  processId: string;
  publishers(): Iterable<Publisher>;
  /** dataInfoIds with at least one subscriber here. */
  subscribed(): Iterable<string>;
  /** Highest datum version this session has pushed for a dataInfoId (-1: none). */
  pushedVersion(dataInfoId: string): number;
  /** A data server leads `slot` under table `epoch` and is reading this session's copy of it. */
  hintLeader(slot: number, epoch: number, leader: string): boolean;
}

const DEFAULT_PAGE = 2_000;
const DIGEST_INDEX_MAX_AGE_MS = 2_000;
const MAX_PAGE = 20_000;

/**
 * The session's server-facing gRPC (port 9602): lets a data server rebuild a slot from the sessions, which
 * hold the truth about their clients' publishers, and compare digests to repair differences.
 */
export class SessionSyncServer {
  private handle: GrpcServerHandle | undefined;
  private readonly index: SlotIndex;

  constructor(private readonly source: SessionSyncSource, private readonly logger: Logger) {
    this.index = new SlotIndex(() => source.publishers(), () => source.subscribed(), 100);
  }

  async start(host: string, port: number): Promise<number> {
    this.handle = await startGrpcServer(host, port, [
      {
        definition: SessionSyncServiceService,
        implementation: {
          fetchSlotPublishers: (call: grpc.ServerUnaryCall<FetchSlotPublishersRequest, FetchSlotPublishersResponse>, cb: grpc.sendUnaryData<FetchSlotPublishersResponse>) =>
            this.answer(cb, () => this.fetch(call.request)),
          slotDigest: (call: grpc.ServerUnaryCall<SlotDigestRequest, SlotDigestResponse>, cb: grpc.sendUnaryData<SlotDigestResponse>) =>
            this.answer(cb, () => this.digest(call.request)),
        },
      },
    ]);
    return this.handle.port;
  }

  async stop(): Promise<void> {
    await this.handle?.shutdown();
  }

  private answer<T>(cb: grpc.sendUnaryData<T>, fn: () => T): void {
    try {
      cb(null, fn());
    } catch (err) {
      this.logger.error({ err }, 'sync request failed');
      cb({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
    }
  }

  /** A page of whole dataInfoIds of one slot, in dataInfoId order, after the cursor (or exactly the listed ids). */
  fetch(req: FetchSlotPublishersRequest): FetchSlotPublishersResponse {
    // From now on, writes and reads of this slot go to the requester: what it reads here plus what is
    // written to it afterwards is everything.
    // A new hint means writes went to the old leader until now: read afresh, not from a cached index.
    const rerouted = this.source.hintLeader(req.slotId, req.slotTableEpoch, req.requester);
    const { at, bySlot } = this.index.get(req.slotCount, Date.now(), rerouted);
    const byId = bySlot.get(req.slotId) ?? new Map<string, Publisher[]>();
    const res: FetchSlotPublishersResponse = { publishers: [], lastDataInfoId: '', done: true, sessionProcessId: this.source.processId, snapshotTime: at, versions: [] };
    const add = (id: string) => {
      res.publishers.push(...(byId.get(id) ?? []));
      const v = this.source.pushedVersion(id);
      if (v >= 0) res.versions.push({ dataInfoId: id, version: v });
    };
    if (req.dataInfoIds.length > 0) {
      for (const id of req.dataInfoIds) add(id);
      return res;
    }
    const max = Math.min(req.maxPublishers > 0 ? req.maxPublishers : DEFAULT_PAGE, MAX_PAGE);
    const ids = [...byId.keys()].filter((id) => id > req.afterDataInfoId).sort();
    for (let i = 0; i < ids.length; i++) {
      add(ids[i]);
      res.lastDataInfoId = ids[i];
      if (res.publishers.length >= max && i < ids.length - 1) {
        res.done = false;
        break;
      }
    }
    return res;
  }

  /** Per dataInfoId of one slot: count and hash of this session's publishers. */
  digest(req: SlotDigestRequest): SlotDigestResponse {
    // Digests say which instant they reflect, and data compares only what it held by then: an index a couple of
    // seconds old serves every slot of a digest round without rescanning all publishers per slot.
    const { at, bySlot } = this.index.get(req.slotCount, Date.now(), false, DIGEST_INDEX_MAX_AGE_MS);
    const byId = bySlot.get(req.slotId) ?? new Map<string, Publisher[]>();
    const digests = [...byId].filter(([, list]) => list.length > 0).map(([dataInfoId, list]) => ({ dataInfoId, ...digestRegistrations(list) }));
    return { digests, sessionProcessId: this.source.processId, snapshotTime: at };
  }
}
