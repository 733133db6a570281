import * as net from 'node:net';

const handed = new Set<number>();

/** A TCP port free on 127.0.0.1 right now, never the same twice in one process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!handed.has(port)) {
      handed.add(port);
      return port;
    }
  }
}
