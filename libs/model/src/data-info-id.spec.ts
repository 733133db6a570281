import { parseDataInfoId, toDataInfoId } from './data-info-id';

describe('dataInfoId', () => {
  it('joins dataId, instanceId and group with #@#', () => {
    expect(toDataInfoId('com.acme.Orders', 'i1', 'G')).toBe('com.acme.Orders#@#i1#@#G');
  });

  it('fills the SOFARegistry defaults for blank instanceId and group', () => {
    expect(toDataInfoId('svc')).toBe('svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP');
    expect(toDataInfoId('svc', '', '')).toBe('svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP');
  });

  it('parses what it builds and rejects malformed ids', () => {
    expect(parseDataInfoId(toDataInfoId('a', 'b', 'c'))).toEqual({ dataId: 'a', instanceId: 'b', group: 'c' });
    expect(parseDataInfoId('a#@#b')).toBeUndefined();
    expect(parseDataInfoId('a#@##@#c')).toBeUndefined();
  });
});
