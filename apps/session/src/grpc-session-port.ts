import { Injectable } from '@nestjs/common';
import {
  ClientOffRequest,
  DataChangeBatch,
  DataServiceClient,
  GetDataRequest,
  GetDataResponse,
  ServerMessage,
  WriteRequest,
  WriteResponse,
} from '@sofareg/contracts';
import { ClientPool, StreamCallers, callUnary } from '@sofareg/server-kit';
import type { ChangeSink, ChangeWatch, SessionPort } from '@sofareg/session-node';
import { ClientConnections } from './client-connections';
import { SessionIdentity } from './session-identity';

/** How long one Write batch may wait for its answer before its ops are retried. */
const WRITE_TIMEOUT_MS = 5_000;

/**
 * The session node's port over gRPC: one channel per data server, one long-lived Write stream per leader,
 * unary GetData and ClientOff, server-streamed change notifications; pushes go to the client connections.
 */
@Injectable()
export class GrpcSessionPort implements SessionPort {
  private readonly pool = new ClientPool(DataServiceClient);
  /** One Write stream per leader. */
  private readonly writers = new StreamCallers<DataServiceClient, WriteRequest, WriteResponse>(
    this.pool,
    (c) => c.write(),
    WRITE_TIMEOUT_MS,
  );

  constructor(
    private readonly connections: ClientConnections,
    private readonly identity: SessionIdentity,
  ) {}

  write(leader: string, req: WriteRequest): Promise<WriteResponse> {
    return this.writers.get(leader).call(req);
  }

  getData(leader: string, req: GetDataRequest): Promise<GetDataResponse> {
    const client = this.pool.get(leader);
    return callUnary(client, client.getData, req);
  }

  async clientOff(leader: string, req: ClientOffRequest): Promise<void> {
    const client = this.pool.get(leader);
    await callUnary(client, client.clientOff, req);
  }

  watchChanges(address: string, sink: ChangeSink): ChangeWatch {
    const call = this.pool.get(address).watchChanges({
      sessionAddress: this.identity.address,
      sessionProcessId: this.identity.processId,
    });
    call.on('data', (batch: DataChangeBatch) => sink.changes(batch));
    call.on('metadata', () => sink.opened());
    call.on('error', (err) => sink.ended(err.message));
    call.on('end', () => sink.ended('end'));
    return { cancel: () => call.cancel() };
  }

  send(connectId: string, msg: ServerMessage): boolean | undefined {
    return this.connections.get(connectId)?.send(msg);
  }

  /** Closes every stream and channel to data servers. */
  close(): void {
    this.writers.closeAll();
    this.pool.closeAll();
  }
}
