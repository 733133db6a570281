import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaChange, MetaCommand, MetaStateValue, EMPTY_META_STATE, applyMetaCommand } from './core/meta-state';

/** Events of a {@link MetaStore}. */
export interface MetaStoreEvents {
  /** A command was applied; `changes` says what it changed. */
  applied: [MetaChange[]];
  /** Leadership moved; `leader` is the new leader's client address or undefined while unknown. */
  leader: [string | undefined];
}

/**
 * The replicated store behind meta. `propose` resolves once the command is committed and applied here;
 * it rejects with code NotLeader (and the leader's address) on a follower.
 */
export interface MetaStore extends EventEmitter<MetaStoreEvents> {
  readonly state: MetaStateValue;
  isLeader(): boolean;
  /** The client-facing (gRPC 9610) address of the leader, when known. */
  leaderAddress(): string | undefined;
  propose(cmd: MetaCommand): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A single-node store: always the leader, state kept in `<dataDir>/meta-state.json`, written to a temporary
 * file, fsynced and renamed before `propose` resolves, so an acknowledged change survives kill -9.
 */
export class LocalMetaStore extends EventEmitter<MetaStoreEvents> implements MetaStore {
  private current: MetaStateValue = EMPTY_META_STATE;
  private readonly file: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly dataDir: string, private readonly selfAddress: string) {
    super();
    this.file = path.join(dataDir, 'meta-state.json');
  }

  get state(): MetaStateValue {
    return this.current;
  }

  isLeader(): boolean {
    return true;
  }

  leaderAddress(): string {
    return this.selfAddress;
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.dataDir, { recursive: true });
    if (fs.existsSync(this.file)) {
      try {
        this.current = JSON.parse(fs.readFileSync(this.file, 'utf8')) as MetaStateValue;
      } catch (err) {
        throw new Error(`meta state file ${this.file} is corrupt: ${(err as Error).message}; move it away to start empty`, { cause: err });
      }
    }
    this.emit('leader', this.selfAddress);
  }

  async stop(): Promise<void> {
    await this.writing;
  }

  async propose(cmd: MetaCommand): Promise<void> {
    const { state, changes } = applyMetaCommand(this.current, cmd);
    if (changes.length === 0) return;
    this.current = state;
    const snapshot = JSON.stringify(state);
    const write = this.writing.then(() => this.persist(snapshot));
    this.writing = write.catch(() => undefined);
    await write;
    this.emit('applied', changes);
  }

  private async persist(text: string): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, this.file);
    const dir = await fs.promises.open(this.dataDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
