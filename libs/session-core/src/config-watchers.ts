/** One configurator: a client connection watching one provide-data key. */
export interface ConfigWatcher {
  readonly registerId: string;
  readonly key: string;
  readonly connectId: string;
}

/** One config push: the watchers of one connection that share a key. */
export interface ConfigPushPlan {
  readonly connectId: string;
  readonly registerIds: string[];
}

/**
 * The session's configurators, indexed by key and by connection. Pure bookkeeping. A registerId belongs to the
 * connection that registered it last (a reconnected client takes its configurators over).
 */
export class ConfigWatchers {
  private readonly byId = new Map<string, ConfigWatcher>();
  private readonly byKey = new Map<string, Map<string, ConfigWatcher>>();
  private readonly byConnection = new Map<string, Set<string>>();

  get size(): number {
    return this.byId.size;
  }

  /** Adds (or moves) a watcher. */
  put(w: ConfigWatcher): void {
    const prev = this.byId.get(w.registerId);
    if (prev) this.remove(prev.registerId, prev.connectId);
    this.byId.set(w.registerId, w);
    let k = this.byKey.get(w.key);
    if (!k) this.byKey.set(w.key, (k = new Map()));
    k.set(w.registerId, w);
    let c = this.byConnection.get(w.connectId);
    if (!c) this.byConnection.set(w.connectId, (c = new Set()));
    c.add(w.registerId);
  }

  /** Removes a watcher if `connectId` owns it. */
  remove(registerId: string, connectId: string): ConfigWatcher | undefined {
    const w = this.byId.get(registerId);
    if (!w || w.connectId !== connectId) return undefined;
    this.byId.delete(registerId);
    const k = this.byKey.get(w.key);
    k?.delete(registerId);
    if (k?.size === 0) this.byKey.delete(w.key);
    const c = this.byConnection.get(connectId);
    c?.delete(registerId);
    if (c?.size === 0) this.byConnection.delete(connectId);
    return w;
  }

  /** Removes every watcher of a closed connection. */
  removeConnection(connectId: string): number {
    const c = this.byConnection.get(connectId);
    if (!c) return 0;
    let n = 0;
    for (const id of [...c]) if (this.remove(id, connectId)) n++;
    this.byConnection.delete(connectId);
    return n;
  }

  /** The pushes a change of `key` needs: one per connection, serving all its watchers of the key. */
  plan(key: string): ConfigPushPlan[] {
    const k = this.byKey.get(key);
    if (!k) return [];
    const byConn = new Map<string, string[]>();
    for (const w of k.values()) {
      let l = byConn.get(w.connectId);
      if (!l) byConn.set(w.connectId, (l = []));
      l.push(w.registerId);
    }
    return [...byConn].map(([connectId, registerIds]) => ({ connectId, registerIds }));
  }
}
