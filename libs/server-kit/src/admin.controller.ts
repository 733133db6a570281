import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Metrics } from './metrics';
import { METRICS, READINESS } from './server-kit.tokens';

/** Whether a server is ready to serve, and why not. */
export interface Readiness {
  isReady(): boolean;
  detail(): Record<string, unknown>;
}

/** The product version, read once from the root package.json. */
export const VERSION: string = (() => {
  try {
    return (
      JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '0.0.0';
  }
})();

/** Health, metrics and version, served by every role. */
@Controller()
export class AdminController {
  constructor(
    @Inject(METRICS) private readonly metrics: Metrics,
    @Inject(READINESS) private readonly readiness: Readiness,
  ) {}

  /** 200 once ready, else 503; the body says why. */
  @Get('health/check')
  health(@Res() res: Response): void {
    const ready = this.readiness.isReady();
    res.status(ready ? 200 : 503).json({ success: ready, ...this.readiness.detail() });
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metricsText(): Promise<string> {
    return this.metrics.text();
  }

  @Get('version')
  version(): { version: string; node: string } {
    return { version: VERSION, node: process.version };
  }
}
