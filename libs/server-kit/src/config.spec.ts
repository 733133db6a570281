import { parseRoleConfig } from './config';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  parseRoleConfig<{ extra: string }>(
    'data',
    { port: 9620, httpPort: 9622 },
    [{ flag: '--extra <v>', description: 'x', default: 'd' }],
    ['node', 'main', ...argv],
    env,
  );

describe('parseRoleConfig', () => {
  it('takes defaults, then environment, then flags', () => {
    expect(parse([])).toMatchObject({
      port: 9620,
      httpPort: 9622,
      meta: ['127.0.0.1:9610'],
      zone: 'DEFAULT_ZONE',
      extra: 'd',
    });
    expect(parse([], { SOFAREG_PORT: '1000', SOFAREG_EXTRA: 'e', SOFAREG_META: 'a:1, b:2' })).toMatchObject({
      port: 1000,
      extra: 'e',
      meta: ['a:1', 'b:2'],
    });
    expect(parse(['--port', '2000', '--http-port=3000'], { SOFAREG_PORT: '1000' })).toMatchObject({
      port: 2000,
      httpPort: 3000,
    });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(parse([]))).toBe(true);
  });

  it('rejects a bad port naming the flag', () => {
    expect(() => parse(['--port', 'abc'])).toThrow(/--port must be a port number/);
    expect(() => parse([], { SOFAREG_HTTP_PORT: '70000' })).toThrow(/--http-port/);
  });
});
