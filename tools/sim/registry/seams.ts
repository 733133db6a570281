import type {
  ClientOffRequest,
  DataChangeBatch,
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  GetDataRequest,
  GetDataResponse,
  SlotDigestRequest,
  SlotDigestResponse,
  WriteRequest,
  WriteResponse,
} from '@sofareg/contracts';

/**
 * What a session calls on a data server in the simulation: the data service's RPCs, request for request (the
 * real `DataNodeDriver` is one). A session driver's data port maps onto this one call each.
 */
export interface DataServerSeam {
  /** Answers once the ops are replicated (or after the bound), through `reply`. */
  write(req: WriteRequest, reply: (res: WriteResponse) => void): void;
  getData(req: GetDataRequest): GetDataResponse;
  clientOff(req: ClientOffRequest): WriteResponse;
}

/**
 * What a data server calls on a session in the simulation: the session's sync service and its change watch.
 * `SimSession` is one; a real session driver behind a sim port is to replace it.
 */
export interface SessionSeam {
  fetchSlotPublishers(req: FetchSlotPublishersRequest): FetchSlotPublishersResponse;
  slotDigest(req: SlotDigestRequest): SlotDigestResponse;
  /** A batch of the data server's change notifications. */
  onChanges(batch: DataChangeBatch): void;
}
