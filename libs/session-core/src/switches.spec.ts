import { PROVIDE_DATA_KEYS } from '@sofareg/model';
import {
  DEFAULT_SWITCHES,
  admitPublish,
  admitSubscribe,
  applySwitch,
  mayPush,
  parseFlag,
  parseIpList,
  switchTransition,
} from './switches';

const K = PROVIDE_DATA_KEYS;

describe('switch parsing', () => {
  it('reads a flag as on only for true/1/on/yes, whatever the case and spacing', () => {
    for (const v of ['true', 'TRUE', ' 1 ', 'on', 'Yes']) expect(parseFlag(v)).toBe(true);
    for (const v of ['false', '', '0', 'off', 'no', 'truthy']) expect(parseFlag(v)).toBe(false);
  });

  it('reads IP lists separated by commas, semicolons or whitespace, or as a JSON array', () => {
    expect([...parseIpList('10.0.0.1, 10.0.0.2;10.0.0.3\n10.0.0.4 ,,')]).toEqual([
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.4',
    ]);
    expect([...parseIpList('["10.0.0.1", " 10.0.0.2 ", 3]')]).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(parseIpList('[broken').size).toBe(0);
    expect(parseIpList('').size).toBe(0);
  });

  it('returns the same state for a key that is not a switch', () => {
    expect(applySwitch(DEFAULT_SWITCHES, 'app.featureX', 'true')).toBe(DEFAULT_SWITCHES);
  });
});

describe('switch evaluation', () => {
  it('stop-push holds every push except to gray-open IPs, and a removed key (empty value) resumes', () => {
    let s = applySwitch(DEFAULT_SWITCHES, K.stopPush, 'true');
    expect(mayPush(s, '10.0.0.1')).toBe(false);
    s = applySwitch(s, K.grayOpen, '10.0.0.1');
    expect(mayPush(s, '10.0.0.1')).toBe(true);
    expect(mayPush(s, '10.0.0.2')).toBe(false);
    s = applySwitch(s, K.stopPush, '');
    expect(mayPush(s, '10.0.0.2')).toBe(true);
  });

  it('gray-open alone changes nothing while pushes run', () => {
    const s = applySwitch(DEFAULT_SWITCHES, K.grayOpen, '10.0.0.1');
    expect(mayPush(s, '10.0.0.9')).toBe(true);
  });

  it('refuses blacklisted publishes, ignores client-off publishes, and the blacklist wins', () => {
    let s = applySwitch(DEFAULT_SWITCHES, K.clientOff, '10.0.0.1,10.0.0.2');
    s = applySwitch(s, K.publishBlacklist, '10.0.0.2,10.0.0.3');
    expect(admitPublish(s, '10.0.0.1')).toBe('ignore');
    expect(admitPublish(s, '10.0.0.2')).toBe('refuse');
    expect(admitPublish(s, '10.0.0.3')).toBe('refuse');
    expect(admitPublish(s, '10.0.0.4')).toBe('accept');
    expect(admitSubscribe(s, '10.0.0.3')).toBe(true);
    s = applySwitch(s, K.subscribeBlacklist, '10.0.0.3');
    expect(admitSubscribe(s, '10.0.0.3')).toBe(false);
  });
});

describe('switchTransition', () => {
  it('names IPs turned off and turned back on', () => {
    const a = applySwitch(DEFAULT_SWITCHES, K.clientOff, '1.1.1.1,2.2.2.2');
    const b = applySwitch(a, K.clientOff, '2.2.2.2,3.3.3.3');
    expect(switchTransition(a, b)).toEqual({ turnedOff: ['3.3.3.3'], turnedOn: ['1.1.1.1'], resumePushes: false });
  });

  it('resumes pushes when stop-push closes or gray-open widens while stopped, not otherwise', () => {
    const stopped = applySwitch(DEFAULT_SWITCHES, K.stopPush, 'true');
    expect(switchTransition(DEFAULT_SWITCHES, stopped).resumePushes).toBe(false);
    expect(switchTransition(stopped, applySwitch(stopped, K.stopPush, 'false')).resumePushes).toBe(true);
    const gray = applySwitch(stopped, K.grayOpen, '1.1.1.1');
    expect(switchTransition(stopped, gray).resumePushes).toBe(true);
    expect(switchTransition(gray, applySwitch(gray, K.grayOpen, '')).resumePushes).toBe(false);
    expect(switchTransition(DEFAULT_SWITCHES, applySwitch(DEFAULT_SWITCHES, K.grayOpen, '1.1.1.1')).resumePushes).toBe(
      false,
    );
  });
});
