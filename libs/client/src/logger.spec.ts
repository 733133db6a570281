import { consoleJsonLogger, silentLogger } from './logger';

describe('loggers', () => {
  it('consoleJsonLogger writes one JSON line per event at or above its level', () => {
    const lines: string[] = [];
    const log = consoleJsonLogger({ level: 'warn', write: (l) => lines.push(l), now: () => 42 });
    log.info('ignored');
    log.warn('disconnected from session', {
      server: 's:1',
      error: Object.assign(new Error('boom'), { code: 'Unavailable' }),
    });
    log.error('cyclic', {
      self: (() => {
        const o: Record<string, unknown> = {};
        o.o = o;
        return o;
      })(),
    });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        time: 42,
        level: 'warn',
        name: 'sofareg-client',
        msg: 'disconnected from session',
        server: 's:1',
        error: { name: 'Error', message: 'boom', code: 'Unavailable' },
      },
      { time: 42, level: 'error', name: 'sofareg-client', msg: 'cyclic', note: 'fields not serializable' },
    ]);
  });

  it('silentLogger says nothing', () => {
    expect(() => silentLogger.error('x', { a: 1 })).not.toThrow();
  });
});
