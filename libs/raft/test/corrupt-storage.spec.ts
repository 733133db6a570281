/**
 * A kv-server started on damaged files refuses to start, exits with code 2, and names the damaged file.
 * One healthy data directory is written by a real server, then copied and damaged once per case.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KvCluster, KvProcess } from './kv-cluster';

jest.setTimeout(120_000);

describe('kv server on damaged storage', () => {
  let cluster: KvCluster;
  let healthy: string;
  let peers: string;
  const started: KvProcess[] = [];

  beforeAll(async () => {
    cluster = await KvCluster.create(1, { snapshotEntries: 100, keepEntries: 10 }, 'raft-corrupt-');
    await cluster.startAll();
    const { node } = await cluster.leader();
    for (let i = 0; i < 250; i += 10) {
      const rs = await Promise.all(Array.from({ length: 10 }, (_, j) => node.put(`k${i + j}`, `v${i + j}`)));
      expect(rs.every((r) => r.ok)).toBe(true);
    }
    await node.stop();
    healthy = node.dataDir;
    peers = `${node.id}=${node.raftAddress}`;
  });

  afterAll(async () => {
    await Promise.allSettled(started.map((p) => p.kill()));
    for (const p of started) p.close();
    await cluster?.close();
  });

  /** Copies the healthy directory, damages the copy, starts a server on it and returns its exit and stderr. */
  async function startDamaged(name: string, damage: (dir: string) => string) {
    const dir = path.join(cluster.root, name);
    fs.cpSync(healthy, dir, { recursive: true });
    const file = damage(dir);
    const [, raftAddress] = peers.split('=');
    const p = new KvProcess(
      'n1',
      raftAddress,
      cluster.nodes[0].kvAddress,
      dir,
      peers,
      {},
      path.join(cluster.root, name + '-logs'),
    );
    fs.mkdirSync(path.join(cluster.root, name + '-logs'));
    started.push(p);
    p.start();
    const exit = await p.exited();
    console.log(`${name}: exit ${exit.code}: ${p.stderr().trim()}`);
    return { exit, stderr: p.stderr(), file };
  }

  it('starts again on the healthy copy with every key', async () => {
    const n = cluster.nodes[0];
    n.start();
    await n.ready();
    await cluster.leader();
    const r = await n.get('k249', true);
    expect(r.value.toString()).toBe('v249');
    await n.stop();
  });

  it('names a write-ahead log segment with a damaged record', async () => {
    const { exit, stderr, file } = await startDamaged('wal-flip', (dir) => {
      const walDir = path.join(dir, 'wal');
      const seg = fs
        .readdirSync(walDir)
        .filter((f) => f.endsWith('.wal'))
        .sort()[0];
      const f = path.join(walDir, seg);
      const b = fs.readFileSync(f);
      const at = Math.floor(b.length / 3);
      for (let i = at; i < at + 8; i++) b[i] ^= 0xff;
      fs.writeFileSync(f, b);
      return f;
    });
    expect(exit.code).toBe(2);
    expect(stderr).toContain('RaftStorageCorrupt');
    expect(stderr).toContain(file);
  });

  it('names a truncated hard state file', async () => {
    const { exit, stderr, file } = await startDamaged('hardstate-truncated', (dir) => {
      const f = path.join(dir, 'hardstate');
      fs.truncateSync(f, 10);
      return f;
    });
    expect(exit.code).toBe(2);
    expect(stderr).toContain('truncated');
    expect(stderr).toContain(file);
  });

  it('names a truncated snapshot file', async () => {
    const { exit, stderr, file } = await startDamaged('snapshot-truncated', (dir) => {
      const snapDir = path.join(dir, 'snapshots');
      const snaps = fs
        .readdirSync(snapDir)
        .filter((f) => f.endsWith('.snap'))
        .sort();
      expect(snaps.length).toBeGreaterThan(0);
      const f = path.join(snapDir, snaps[snaps.length - 1]);
      fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2));
      return f;
    });
    expect(exit.code).toBe(2);
    expect(stderr).toContain('RaftStorageCorrupt');
    expect(stderr).toContain(file);
  });
});
