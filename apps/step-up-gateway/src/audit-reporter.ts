import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Policy } from './policy/policy.js';

export interface DownstreamReport {
  /** The new access token's `jti`, never the token. */
  readonly jti: string;
  readonly outcome: 'allowed' | 'blocked';
  readonly action: string;
  readonly resource?: string;
  readonly reason?: string;
}

/** Reports waiting to be sent; past this, new ones are dropped (and counted) rather than held. */
const QUEUE_LIMIT = 1_000;
const CONCURRENCY = 4;
const TIMEOUT_MS = 5_000;

/**
 * Sends each action the gateway allowed or blocked to the provider's `POST /audit/downstream`,
 * authenticating with the provider client's secret (HTTP Basic). Best effort and off the request
 * path: `report` only queues; a bounded queue drains in the background, a failed report is
 * logged (without the token or the credentials) and not retried. The endpoint comes from the
 * operator's policy, not from a client, so it is called directly rather than through the
 * outbound endpoint policy that guards client-supplied URLs.
 */
export class AuditReporter implements OnApplicationShutdown {
  private readonly logger = new Logger('AuditReporter');
  private readonly queue: (DownstreamReport & { occurred_at: string })[] = [];
  private inFlight = 0;
  private dropped = 0;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly endpoint: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
  ) {}

  static fromPolicy(policy: Policy): AuditReporter | null {
    if (!policy.audit) return null;
    const name = policy.audit.provider ?? Object.keys(policy.providers)[0];
    const client = policy.audit.client ?? policy.providers[name]?.client;
    if (!client?.clientSecret) {
      new Logger('AuditReporter').warn('audit reports need a client with a clientSecret (audit.client); they are off');
      return null;
    }
    return new AuditReporter(policy.audit.endpoint, client.clientId, client.clientSecret);
  }

  report(report: DownstreamReport): void {
    if (this.queue.length >= QUEUE_LIMIT) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 100 === 0) this.logger.warn({ dropped: this.dropped }, 'audit report queue full; reports dropped');
      return;
    }
    this.queue.push({ ...report, occurred_at: new Date().toISOString() });
    this.drain();
  }

  /** Resolves once every queued report was sent or given up. */
  async flushed(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.race([this.flushed(), new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS).unref())]);
  }

  private drain(): void {
    while (this.inFlight < CONCURRENCY && this.queue.length > 0) {
      const next = this.queue.shift();
      if (!next) break;
      this.inFlight++;
      void this.send(next).finally(() => {
        this.inFlight--;
        this.drain();
        if (this.queue.length === 0 && this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
      });
    }
  }

  private async send(report: DownstreamReport & { occurred_at: string }): Promise<void> {
    const basic = Buffer.from(`${encodeURIComponent(this.clientId)}:${encodeURIComponent(this.clientSecret)}`).toString('base64');
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
        body: JSON.stringify(report),
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 300) this.logger.warn({ status: res.status, action: report.action, outcome: report.outcome }, 'audit report refused');
    } catch (err) {
      this.logger.warn({ reason: err instanceof Error ? err.name : 'error', action: report.action }, 'audit report not sent');
    }
  }
}
