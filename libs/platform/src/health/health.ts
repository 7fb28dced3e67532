import { Controller, Get, HttpCode, Injectable, ServiceUnavailableException } from '@nestjs/common';

export type ReadinessCheck = () => Promise<void>;

/** Modules register what the service needs to be ready (database, NATS, keys); /readyz runs them. */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();
  private shuttingDown = false;

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
        results[name] = await check().then(
          () => 'ok' as const,
          () => 'failing' as const,
        );
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
