import type { Publisher } from '@sofareg/contracts';
import { digestRegistrations } from '@sofareg/model';
import { testPublisher } from './testing';
import { MAX_SLOT_PAGE, SlotContent, slotDigests, slotPage } from './slot-paging';

const pub = (dataInfoId: string, registerId: string): Publisher => testPublisher(dataInfoId, registerId);

/** dataInfoIds a..e with 2 publishers each, and f with subscribers only. */
const content: SlotContent = new Map([
  ...['c', 'a', 'e', 'b', 'd'].map((id): [string, Publisher[]] => [id, [pub(id, `${id}1`), pub(id, `${id}2`)]]),
  ['f', []],
]);
const noVersions = () => -1;
const page = (after: string, max: number) =>
  slotPage(content, { afterDataInfoId: after, maxPublishers: max, dataInfoIds: [] }, noVersions, 'sp', 7);

describe('slotPage', () => {
  it('pages whole dataInfoIds in order after the cursor until the bound is reached', () => {
    const first = page('', 3);
    expect(first.publishers.map((p) => p.registerId)).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(first).toMatchObject({ lastDataInfoId: 'b', done: false, sessionProcessId: 'sp', snapshotTime: 7 });
    const rest = page('b', 100);
    expect(rest.publishers.map((p) => p.registerId)).toEqual(['c1', 'c2', 'd1', 'd2', 'e1', 'e2']);
    expect(rest).toMatchObject({ lastDataInfoId: 'f', done: true });
  });

  it('collects every publisher exactly once over all pages', () => {
    const seen: string[] = [];
    let after = '';
    for (let done = false; !done;) {
      const p = page(after, 1);
      seen.push(...p.publishers.map((x) => x.registerId));
      after = p.lastDataInfoId;
      done = p.done;
    }
    expect(seen).toEqual(['a1', 'a2', 'b1', 'b2', 'c1', 'c2', 'd1', 'd2', 'e1', 'e2']);
  });

  it('serves exactly the listed dataInfoIds without paging, with the versions pushed of them', () => {
    const res = slotPage(
      content,
      { afterDataInfoId: '', maxPublishers: 1, dataInfoIds: ['d', 'f', 'zz'] },
      (id) => (id === 'f' ? 4 : -1),
      'sp',
      0,
    );
    expect(res.publishers.map((p) => p.registerId)).toEqual(['d1', 'd2']);
    expect(res.versions).toEqual([{ dataInfoId: 'f', version: 4 }]);
    expect(res.done).toBe(true);
  });

  it('bounds a page by MAX_SLOT_PAGE whatever is asked', () => {
    const big: SlotContent = new Map(
      Array.from({ length: MAX_SLOT_PAGE + 5 }, (_, i) => [`id${String(i).padStart(6, '0')}`, [pub('x', `r${i}`)]]),
    );
    const res = slotPage(big, { afterDataInfoId: '', maxPublishers: 1e9, dataInfoIds: [] }, noVersions, 'sp', 0);
    expect(res.publishers.length).toBe(MAX_SLOT_PAGE);
    expect(res.done).toBe(false);
  });
});

describe('slotDigests', () => {
  it('digests each dataInfoId with publishers, leaving out those with only subscribers', () => {
    const d = slotDigests(content);
    expect(d.map((x) => x.dataInfoId).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(d.find((x) => x.dataInfoId === 'a')).toEqual({
      dataInfoId: 'a',
      ...digestRegistrations(content.get('a') ?? []),
    });
  });
});
