import { Inject, Injectable } from '@nestjs/common';
import type { NodeInfo } from '@sofareg/contracts';
import { CONFIG } from '@sofareg/server-kit';
import { randomUUID } from 'node:crypto';
import { SessionConfig } from './session-config';

/** Who this session process is: its advertised addresses and a process id fresh at every start. */
@Injectable()
export class SessionIdentity {
  readonly processId = randomUUID();
  /** The client-facing gRPC address, as advertised to clients and data servers. */
  readonly address: string;
  readonly startedAt = Date.now();

  constructor(@Inject(CONFIG) private readonly config: SessionConfig) {
    this.address = `${config.advertiseHost}:${config.port}`;
  }

  /** This session as meta lists it. */
  node(): NodeInfo {
    const { advertiseHost, zone, dataCenter, httpPort, syncPort } = this.config;
    return {
      address: this.address,
      role: 'session',
      zone,
      dataCenter,
      processId: this.processId,
      startedAt: this.startedAt,
      httpAddress: `${advertiseHost}:${httpPort}`,
      syncAddress: `${advertiseHost}:${syncPort}`,
    };
  }
}
