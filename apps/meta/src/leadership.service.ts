import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HashRing } from '@sofareg/hash-ring';
import { LeaderDuties, MetaChange } from '@sofareg/meta-core';
import { CONFIG, LOGGER, Logger, METRICS, Metrics } from '@sofareg/server-kit';
import { MetaConfig } from './meta-config';
import { LEADER_DUTIES, META_STORE } from './meta.tokens';
import type { MetaStore } from './meta-store';
import { WatchHub } from './watch-hub.service';

/** How often the leader looks for expired leases and slot moves. */
const TICK_MS = 100;
/** Wait before retrying a failed read barrier of a new leader. */
const BARRIER_RETRY_MS = 100;
/** A read barrier unanswered this long is asked again (its heartbeat round may have been lost). */
const BARRIER_TIMEOUT_MS = 1_000;

/**
 * Carries out the leader's duties decided by the pure {@link LeaderDuties}: on election a read barrier (the new
 * leader then holds everything committed), fresh leases for every known server, serving the watch streams that
 * waited; then every 100 ms (and at once after a membership change) evictions and slot arrangement, proposed
 * through Raft. Deposed: forgets it all and redirects every watch stream.
 */
@Injectable()
export class LeadershipService implements OnModuleInit {
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private tickQueued = false;
  private stopping = false;
  private readonly evictions;
  private readonly leaderChanges;
  private readonly epochGauge;

  constructor(
    @Inject(CONFIG) private readonly config: MetaConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
    @Inject(META_STORE) private readonly store: MetaStore,
    @Inject(LEADER_DUTIES) private readonly duties: LeaderDuties,
    private readonly watches: WatchHub,
    private readonly ring: HashRing,
  ) {
    this.evictions = metrics.counter('meta_evictions_total', 'servers removed because their lease expired', ['role']);
    this.leaderChanges = metrics.counter('meta_leader_changes_total', 'times this node saw the meta leader change');
    this.epochGauge = metrics.gauge('meta_slot_table_epoch', 'epoch of the current slot table');
    metrics.gauge('meta_is_leader', '1 on the meta leader (once caught up)', [], function () {
      this.set(duties.ready ? 1 : 0);
    });
    metrics.gauge('meta_raft_term', 'Raft term of this meta node', [], function () {
      this.set(store.raftStatus()?.term ?? 0);
    });
  }

  onModuleInit(): void {
    this.store.on('leader', (leader) => this.onLeaderChange(leader));
    this.store.on('applied', (changes) => this.onApplied(changes));
  }

  /** Starts the duty timer (the store is started). */
  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    this.stopping = true;
    clearInterval(this.timer);
  }

  /** Whether this node is the Raft leader and has registered it (it may be catching up). */
  leads(): boolean {
    return this.store.isLeader() && this.duties.state !== 'follower';
  }

  private onLeaderChange(leader: string | undefined): void {
    this.leaderChanges.inc();
    if (this.store.isLeader()) {
      if (this.duties.state !== 'follower') return;
      this.duties.elected();
      const gen = ++this.generation;
      const term = this.store.raftStatus()?.term;
      this.logger.info({ nodeId: this.store.nodeId, term }, 'this meta node was elected; catching up');
      this.catchUp(gen, Date.now());
      return;
    }
    if (this.duties.state !== 'follower') {
      this.duties.deposed();
      this.generation++;
      this.logger.info({ leader }, 'this meta node no longer leads');
    } else {
      this.logger.info({ leader }, leader ? 'meta leader changed' : 'meta leader unknown');
    }
    this.watches.redirectAll(leader);
  }

  /** Read barrier, then start leading: every known server gets a fresh lease before anyone is evicted. */
  private catchUp(gen: number, electedAt: number): void {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${BARRIER_TIMEOUT_MS} ms`)), BARRIER_TIMEOUT_MS);
    });
    Promise.race([this.store.barrier(), timeout])
      .finally(() => clearTimeout(timer))
      .then(
        () => {
          if (gen !== this.generation || !this.duties.caughtUp(this.store.state, Date.now())) return;
          const state = this.store.state;
          const fields = {
            nodeId: this.store.nodeId,
            caughtUpMs: Date.now() - electedAt,
            dataServers: Object.keys(state.dataNodes).length,
            sessions: Object.keys(state.sessionNodes).length,
            epoch: state.slotTable?.epoch ?? 0,
          };
          this.logger.info(fields, 'this meta node leads; every known server has a fresh lease');
          this.watches.serveWaiting();
          this.tickSoon();
        },
        (err: Error) => {
          if (gen !== this.generation || this.stopping) return;
          this.logger.warn({ err: err.message }, 'read barrier of the new leader failed; retrying');
          setTimeout(() => this.catchUp(gen, electedAt), BARRIER_RETRY_MS);
        },
      );
  }

  private onApplied(changes: MetaChange[]): void {
    const table = this.store.state.slotTable;
    for (const c of changes) {
      if (c.kind === 'slotTable' && table) {
        // The ring holds the committed table (what was arranged becomes current only once applied).
        this.ring.update(table);
        this.epochGauge.set(table.epoch);
        const dataServers = Object.keys(this.store.state.dataNodes).length;
        if (this.duties.ready) this.logger.info({ epoch: table.epoch, dataServers }, 'slot table published');
      } else if (c.kind === 'dataNodes') this.tickSoon();
    }
  }

  /** Runs the duties soon (once, however often asked before it runs). */
  tickSoon(): void {
    if (this.tickQueued || this.stopping) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      this.tick();
    });
  }

  /** The leader's duties: evict servers whose lease ran out, publish a new slot table when needed. */
  private tick(): void {
    if (this.stopping || !this.duties.ready || !this.store.isLeader()) return;
    let actions;
    try {
      actions = this.duties.tick(this.store.state, Date.now());
    } catch (err) {
      // A throw here would end the process from a timer, and the next leader would do the same: log, retry.
      this.logger.error({ err }, 'leader tick failed; retrying on the next tick');
      return;
    }
    for (const action of actions) {
      if (action.kind === 'evict') {
        this.evictions.inc({ role: action.role });
        const fields = { address: action.address, role: action.role, leaseMs: this.config.leaseMs };
        this.logger.warn(fields, 'lease expired; removing server');
      }
      this.store
        .propose(action.cmd)
        .catch((err: Error) => {
          this.logger.warn({ err: err.message, action: action.kind }, 'leader proposal failed; will retry');
        })
        .finally(() => {
          this.duties.settled(action.cmd);
          this.tickSoon();
        });
    }
  }
}
