import { Controller, Get, HttpCode, Inject, Injectable, Optional, ServiceUnavailableException } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import { PROVIDER_CONFIG } from '../di/tokens.js';

export type ReadinessCheck = () => Promise<void>;

/**
 * Modules register what the service needs to be ready (database, NATS, keys); /readyz runs them, all
 * at once. A check that takes longer than `CIBA_READINESS_TIMEOUT_MS` counts as failing: a database
 * or NATS server that stopped answering must take the pod out of rotation, not hang the probe.
 */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();
  private shuttingDown = false;
  private readonly timeoutMs: number;

  constructor(@Optional() @Inject(PROVIDER_CONFIG) config?: Pick<ProviderConfig, 'readinessTimeoutMs'>) {
    this.timeoutMs = config?.readinessTimeoutMs ?? 2_000;
  }

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Stop advertising readiness while draining, so the load balancer stops sending traffic. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async run(): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'failing'> }> {
    const results: Record<string, 'ok' | 'failing'> = {};
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'failing'>((resolve) => (timer = setTimeout(() => resolve('failing'), this.timeoutMs)));
        results[name] = await Promise.race([
          check().then(
            () => 'ok' as const,
            () => 'failing' as const,
          ),
          timedOut,
        ]);
        clearTimeout(timer);
      }),
    );
    const ready = !this.shuttingDown && Object.values(results).every((r) => r === 'ok');
    return { ready, checks: results };
  }
}

@Controller()
export class HealthController {
  constructor(private readonly readiness: ReadinessRegistry) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers. */
  @Get('readyz')
  async readyz(): Promise<{ status: 'ready'; checks: Record<string, string> }> {
    const { ready, checks } = await this.readiness.run();
    if (!ready) throw new ServiceUnavailableException({ status: 'not_ready', checks });
    return { status: 'ready', checks };
  }
}
