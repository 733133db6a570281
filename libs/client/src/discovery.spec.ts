import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { discoverSessions } from './discovery';

/** A real HTTP admin double on a free loopback port; `routes` maps a path to [status, body]. */
async function admin(
  routes: Record<string, [number, string]>,
): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const [status, body] = routes[req.url ?? ''] ?? [404, 'not found'];
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

describe('discoverSessions', () => {
  it('reads the weighted list first', async () => {
    const a = await admin({
      '/api/servers/queryWithWeight': [
        200,
        '[{"address":"127.0.0.1:9600","weight":4},{"address":"127.0.0.2:9600","weight":1}]',
      ],
    });
    try {
      expect(await discoverSessions(a.url + '/', { timeoutMs: 2_000 })).toEqual([
        { address: '127.0.0.1:9600', weight: 4 },
        { address: '127.0.0.2:9600', weight: 1 },
      ]);
      expect(a.hits).toEqual(['/api/servers/queryWithWeight']);
    } finally {
      await a.close();
    }
  });

  it('falls back to the plain list of host:port lines', async () => {
    const a = await admin({ '/api/servers/query': [200, '127.0.0.1:9600\n127.0.0.2:9600\n'] });
    try {
      expect(await discoverSessions(a.url, { timeoutMs: 2_000 })).toEqual([
        { address: '127.0.0.1:9600' },
        { address: '127.0.0.2:9600' },
      ]);
      expect(a.hits).toEqual(['/api/servers/queryWithWeight', '/api/servers/query']);
    } finally {
      await a.close();
    }
  });

  it('fails with Unavailable when nothing is listed or nothing answers', async () => {
    const a = await admin({ '/api/servers/query': [200, ''] });
    try {
      await expect(discoverSessions(a.url, { timeoutMs: 2_000 })).rejects.toMatchObject({
        code: 'Unavailable',
        message: expect.stringMatching(/listed no session/),
      });
    } finally {
      await a.close();
    }
    await expect(discoverSessions(a.url, { timeoutMs: 2_000 })).rejects.toMatchObject({
      code: 'Unavailable',
      message: expect.stringMatching(/cannot discover/),
    });
  });

  it('uses an injected fetch', async () => {
    const fetch = jest.fn(async (url: string) => ({
      ok: url.endsWith('/query'),
      status: 200,
      text: async () => '["h:1"]',
    }));
    expect(await discoverSessions('http://x', { timeoutMs: 10, fetch })).toEqual([{ address: 'h:1' }]);
  });
});
