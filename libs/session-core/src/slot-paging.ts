import type {
  DataInfoDigest,
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  Publisher,
} from '@sofareg/contracts';
import { digestRegistrations } from '@sofareg/model';

/** Publishers per page when the data server asks for none in particular. */
export const DEFAULT_SLOT_PAGE = 2_000;
/** Publishers per page at most, whatever the data server asks. */
export const MAX_SLOT_PAGE = 20_000;

/** One slot's publishers by dataInfoId (an empty list: a dataInfoId with only subscribers here). */
export type SlotContent = ReadonlyMap<string, readonly Publisher[]>;

/**
 * A page of one slot for a data server rebuilding it: whole dataInfoIds in dataInfoId order after
 * `req.afterDataInfoId`, stopping once `req.maxPublishers` (bounded by {@link MAX_SLOT_PAGE}) are in; or exactly
 * `req.dataInfoIds` when listed (a digest repair, no paging). Each dataInfoId carries the highest version this
 * session pushed of it (`pushedVersion` ≥ 0), so a new leader never serves a version below what clients hold.
 * `at` is the instant `content` reflects. Pure.
 */
export function slotPage(
  content: SlotContent,
  req: Pick<FetchSlotPublishersRequest, 'afterDataInfoId' | 'maxPublishers' | 'dataInfoIds'>,
  pushedVersion: (dataInfoId: string) => number,
  sessionProcessId: string,
  at: number,
): FetchSlotPublishersResponse {
  const res: FetchSlotPublishersResponse = {
    publishers: [],
    lastDataInfoId: '',
    done: true,
    sessionProcessId,
    snapshotTime: at,
    versions: [],
  };
  const add = (id: string) => {
    res.publishers.push(...(content.get(id) ?? []));
    const v = pushedVersion(id);
    if (v >= 0) res.versions.push({ dataInfoId: id, version: v });
  };
  if (req.dataInfoIds.length > 0) {
    for (const id of req.dataInfoIds) add(id);
    return res;
  }
  const max = Math.min(req.maxPublishers > 0 ? req.maxPublishers : DEFAULT_SLOT_PAGE, MAX_SLOT_PAGE);
  const ids = [...content.keys()].filter((id) => id > req.afterDataInfoId).sort();
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

/** Per dataInfoId of one slot with publishers here: their count and hash (dataInfoIds without any are left out). */
export function slotDigests(content: SlotContent): DataInfoDigest[] {
  const out: DataInfoDigest[] = [];
  for (const [dataInfoId, list] of content) if (list.length > 0) out.push({ dataInfoId, ...digestRegistrations(list) });
  return out;
}
