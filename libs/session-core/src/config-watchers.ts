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
  put(watcher: ConfigWatcher): void {
    const prev = this.byId.get(watcher.registerId);
    if (prev) this.remove(prev.registerId, prev.connectId);
    this.byId.set(watcher.registerId, watcher);
    let ofKey = this.byKey.get(watcher.key);
    if (!ofKey) this.byKey.set(watcher.key, (ofKey = new Map()));
    ofKey.set(watcher.registerId, watcher);
    let ofConnection = this.byConnection.get(watcher.connectId);
    if (!ofConnection) this.byConnection.set(watcher.connectId, (ofConnection = new Set()));
    ofConnection.add(watcher.registerId);
  }

  /** Removes a watcher if `connectId` owns it. */
  remove(registerId: string, connectId: string): ConfigWatcher | undefined {
    const watcher = this.byId.get(registerId);
    if (!watcher || watcher.connectId !== connectId) return undefined;
    this.byId.delete(registerId);
    const ofKey = this.byKey.get(watcher.key);
    ofKey?.delete(registerId);
    if (ofKey?.size === 0) this.byKey.delete(watcher.key);
    const ofConnection = this.byConnection.get(connectId);
    ofConnection?.delete(registerId);
    if (ofConnection?.size === 0) this.byConnection.delete(connectId);
    return watcher;
  }

  /** Removes every watcher of a closed connection. */
  removeConnection(connectId: string): number {
    const registerIds = this.byConnection.get(connectId);
    if (!registerIds) return 0;
    let removed = 0;
    for (const id of [...registerIds]) if (this.remove(id, connectId)) removed++;
    this.byConnection.delete(connectId);
    return removed;
  }

  /** The pushes a change of `key` needs: one per connection, serving all its watchers of the key. */
  plan(key: string): ConfigPushPlan[] {
    const ofKey = this.byKey.get(key);
    if (!ofKey) return [];
    const byConn = new Map<string, string[]>();
    for (const watcher of ofKey.values()) {
      let ids = byConn.get(watcher.connectId);
      if (!ids) byConn.set(watcher.connectId, (ids = []));
      ids.push(watcher.registerId);
    }
    return [...byConn].map(([connectId, registerIds]) => ({ connectId, registerIds }));
  }
}
