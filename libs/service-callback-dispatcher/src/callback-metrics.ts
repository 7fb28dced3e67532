import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { ProviderMetrics } from '@ciba/platform';

/** Callback delivery series, in the service's registry (`ProviderMetrics`, served on `/metrics`). */
@Injectable()
export class CallbackMetrics {
  private readonly attempts: Counter<'mode' | 'outcome'>;
  private readonly results: Counter<'mode' | 'result'>;
  private readonly latency: Histogram<'mode'>;

  constructor(metrics: ProviderMetrics) {
    const registers = [metrics.registry];
    this.attempts = new Counter({
      name: 'ciba_callback_attempts_total',
      help: 'Ping and push callback attempts, by mode and outcome (delivered, retryable, permanent).',
      labelNames: ['mode', 'outcome'] as const,
      registers,
    });
    this.results = new Counter({
      name: 'ciba_callback_results_total',
      help: 'Callbacks settled for good: delivered, or failed (dead-lettered).',
      labelNames: ['mode', 'result'] as const,
      registers,
    });
    this.latency = new Histogram({
      name: 'ciba_callback_attempt_duration_seconds',
      help: 'Duration of one callback attempt, from connect to response.',
      labelNames: ['mode'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  attempt(mode: 'ping' | 'push', outcome: 'delivered' | 'retryable' | 'permanent', latencyMs: number): void {
    this.attempts.inc({ mode, outcome });
    this.latency.observe({ mode }, latencyMs / 1000);
  }

  settled(mode: 'ping' | 'push', result: 'delivered' | 'failed'): void {
    this.results.inc({ mode, result });
  }
}
