import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Delivery metrics, Prometheus text format on GET /metrics. */
@Injectable()
export class CallbackMetrics {
  readonly registry = new Registry();
  private readonly attempts = new Counter({
    name: 'ciba_callback_attempts_total',
    help: 'Ping and push callback attempts, by mode and outcome (delivered, retryable, permanent).',
    labelNames: ['mode', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly results = new Counter({
    name: 'ciba_callback_results_total',
    help: 'Callbacks settled for good: delivered, or failed (dead-lettered).',
    labelNames: ['mode', 'result'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'ciba_callback_attempt_duration_seconds',
    help: 'Duration of one callback attempt, from connect to response.',
    labelNames: ['mode'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  attempt(mode: 'ping' | 'push', outcome: 'delivered' | 'retryable' | 'permanent', latencyMs: number): void {
    this.attempts.inc({ mode, outcome });
    this.latency.observe({ mode }, latencyMs / 1000);
  }

  settled(mode: 'ping' | 'push', result: 'delivered' | 'failed'): void {
    this.results.inc({ mode, result });
  }
}

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: CallbackMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
