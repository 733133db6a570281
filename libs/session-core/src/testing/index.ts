import type { Publisher } from '@sofareg/contracts';

/**
 * A publisher of `dataInfoId` for specs: one address, version 1, owned by connection `c` of session `s:1`
 * (process `sp`); `overrides` replace any field.
 */
export function testPublisher(dataInfoId: string, registerId: string, overrides: Partial<Publisher> = {}): Publisher {
  return {
    dataInfoId,
    registerId,
    dataList: ['10.0.0.1:1'],
    zone: 'z',
    appName: '',
    clientId: '',
    processId: '',
    connectId: 'c',
    sessionProcessId: 'sp',
    sessionAddress: 's:1',
    version: 1,
    registerTimestamp: 1,
    clientIp: '',
    ...overrides,
  };
}
