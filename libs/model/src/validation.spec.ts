import { REGISTRATION_LIMITS, validatePublish, validateSubscribe, validateWatchConfig } from './validation';

describe('validatePublish', () => {
  it('accepts a well-formed publish', () => {
    expect(validatePublish({ dataId: 'com.acme.Orders', dataList: ['10.0.0.1:12200'] })).toBeUndefined();
  });

  it.each([
    [{ dataId: '', dataList: [] }, 'dataId'],
    [{ dataId: '   ', dataList: [] }, 'dataId'],
    [{ dataList: [] }, 'dataId'],
    [{ dataId: 'a#@#b', dataList: [] }, 'dataId'],
    [{ dataId: 'a', group: 'g#@#', dataList: [] }, 'group'],
    [{ dataId: 'a', dataList: 'x' }, 'dataList'],
    [{ dataId: 'a', dataList: [1] }, 'dataList'],
    [{ dataId: 'x'.repeat(REGISTRATION_LIMITS.maxDataIdLength + 1), dataList: [] }, 'dataId'],
    [{ dataId: 'a', dataList: new Array(REGISTRATION_LIMITS.maxDataListEntries + 1).fill('x') }, 'dataList'],
    [{ dataId: 'a', dataList: ['x'.repeat(REGISTRATION_LIMITS.maxDataEntryLength + 1)] }, 'dataList'],
    [{ dataId: 'a', dataList: new Array(200).fill('y'.repeat(400)) }, 'dataList'],
  ])('rejects %j naming the field %s', (input, field) => {
    const error = validatePublish(input);
    expect(error).toMatchObject({ code: 'InvalidArgument', field });
    expect(error?.message).toMatch(/rule: /);
  });

  it('rejects a non-object', () => {
    expect(validatePublish(null)).toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('validateSubscribe', () => {
  it('accepts every known scope', () => {
    for (const scope of ['zone', 'dataCenter', 'global']) {
      expect(validateSubscribe({ dataId: 'a', scope })).toBeUndefined();
    }
  });

  it('rejects an unknown scope naming the field and the allowed values', () => {
    const error = validateSubscribe({ dataId: 'a', scope: 'planet' });
    expect(error).toMatchObject({ code: 'InvalidArgument', field: 'scope' });
    expect(error?.message).toContain('zone, dataCenter, global');
  });
});

describe('validateWatchConfig', () => {
  it('rejects a blank key', () => {
    expect(validateWatchConfig({ key: ' ' })).toMatchObject({ field: 'key' });
    expect(validateWatchConfig({ key: 'switch.stopPush' })).toBeUndefined();
  });
});
