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
 * What a data server calls on a session in the simulation: the session's sync service and its change watch
 * (`SimSessionNode`, the real session node, is one). `undefined` is no answer (a session that crashed).
 */
export interface SessionSeam {
  fetchSlotPublishers(req: FetchSlotPublishersRequest): FetchSlotPublishersResponse | undefined;
  slotDigest(req: SlotDigestRequest): SlotDigestResponse | undefined;
  /** A batch of the change notifications of the data server `from`. */
  onChanges(from: string, batch: DataChangeBatch): void;
}
