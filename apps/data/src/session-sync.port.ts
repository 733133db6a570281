import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  SessionSyncServiceClient,
  SlotDigestRequest,
  SlotDigestResponse,
} from '@sofareg/contracts';
import type { Reply, SessionSyncPort } from '@sofareg/data-core';
import { ClientPool, callUnary } from '@sofareg/server-kit';
import { replyTo } from './reply-to';

/** How long a slot page may take (a page holds up to a few thousand publishers). */
const PAGE_TIMEOUT_MS = 10_000;
const DIGEST_TIMEOUT_MS = 5_000;

/** Calls to the sessions' sync service over gRPC, one client per sync address. */
@Injectable()
export class GrpcSessionSyncPort implements SessionSyncPort, OnApplicationShutdown {
  private readonly clients = new ClientPool(SessionSyncServiceClient);

  fetchSlotPublishers(
    syncAddress: string,
    req: FetchSlotPublishersRequest,
    reply: Reply<FetchSlotPublishersResponse>,
  ): void {
    const client = this.clients.get(syncAddress);
    replyTo(callUnary(client, client.fetchSlotPublishers, req, PAGE_TIMEOUT_MS), reply);
  }

  slotDigest(syncAddress: string, req: SlotDigestRequest, reply: Reply<SlotDigestResponse>): void {
    const client = this.clients.get(syncAddress);
    replyTo(callUnary(client, client.slotDigest, req, DIGEST_TIMEOUT_MS), reply);
  }

  onApplicationShutdown(): void {
    this.clients.closeAll();
  }
}
