import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type ProviderConfig, maxTokenLifetime } from '@ciba/config';
import type { Clock } from '@ciba/domain';
import { KeyStore, type RotatedKey } from '@ciba/tokens';
import { CLOCK } from '../di/tokens.js';
import { ProviderMetrics } from '../metrics/provider-metrics.js';

export const KEY_ROTATION_OPTIONS = Symbol('KeyRotationOptions');

export interface KeyRotationOptions {
  /** Rotate once the signing key is this old; null: this process never rotates on schedule. */
  readonly rotateAfterMs: number | null;
  /** How long a retired key stays published after its rotation (beyond the activation delay). */
  readonly maxTokenLifetimeSeconds: number;
  /** How often to look whether a rotation is due (a look costs no database round trip unless it is). */
  readonly checkIntervalMs: number;
}

/** The processes that sign tokens; the others only verify, and leave rotating to these. */
const SIGNING_SERVICES: ReadonlySet<ProviderConfig['service']> = new Set(['token', 'callback-dispatcher', 'all-in-one']);

const DAY_MS = 86_400_000;

/**
 * The rotation schedule of a process: `CIBA_SIGNING_KEY_ROTATION_DAYS` in the processes that sign.
 * A retired key may sign until every replica has reloaded after the new key's activation (one
 * refresh period), and then its tokens live `maxTokenLifetime`: it stays published that long.
 */
export function keyRotationOptions(config: ProviderConfig, refreshIntervalMs: number): KeyRotationOptions {
  const days = config.keys.rotationDays;
  return {
    rotateAfterMs: days > 0 && SIGNING_SERVICES.has(config.service) ? days * DAY_MS : null,
    maxTokenLifetimeSeconds: maxTokenLifetime(config) + refreshIntervalMs / 1000,
    checkIntervalMs: refreshIntervalMs,
  };
}

/**
 * Scheduled signing-key rotation (OpenID Connect Core §10.1.1, RFC 7517 `kid`). Whether a rotation
 * is due comes from the stored keys' creation time, not from a timer's memory: a restart neither
 * loses nor repeats one, and of replicas finding it due together exactly one rotates (the key
 * store decides again under its PostgreSQL advisory lock). The new key is published at once and
 * signs after the key store's activation delay; the others pick it up on their periodic refresh.
 */
@Injectable()
export class KeyRotationScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KeyRotation');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly keyStore: KeyStore,
    @Inject(KEY_ROTATION_OPTIONS) private readonly options: KeyRotationOptions,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: ProviderMetrics,
  ) {}

  onApplicationBootstrap(): void {
    const { rotateAfterMs } = this.options;
    if (rotateAfterMs === null) return;
    this.logger.log({ rotateAfterDays: rotateAfterMs / DAY_MS, dueAt: this.keyStore.rotationDueAt(rotateAfterMs).toISOString() }, 'signing keys rotate on schedule');
    const tick = (): void => {
      if (this.running) return;
      this.running = this.rotateIfDue()
        .catch((err: unknown) => this.logger.warn({ err }, 'scheduled signing-key rotation failed; retrying at the next check'))
        .finally(() => {
          this.running = null;
        });
    };
    // At once too: a deployment started after its due time rotates without waiting a period.
    tick();
    this.timer = setInterval(tick, this.options.checkIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Rotates when due (see `KeyStore.rotateIfDue`); returns the new keys, none when not due or off. */
  async rotateIfDue(): Promise<RotatedKey[]> {
    const { rotateAfterMs, maxTokenLifetimeSeconds } = this.options;
    if (rotateAfterMs === null) return [];
    // The keys as last loaded say when; only then is the database asked (under the lock).
    if (this.keyStore.rotationDueAt(rotateAfterMs).getTime() > this.clock.now().getTime()) return [];
    const rotated = await this.keyStore.rotateIfDue({ rotateAfterMs, maxTokenLifetimeSeconds });
    if (rotated.length === 0) return rotated;
    this.metrics.signingKeysRotated();
    for (const key of rotated) {
      this.logger.log({ kid: key.kid, alg: key.alg, activatesAt: key.activatesAt.toISOString() }, 'signing key rotated on schedule: published now, signing from activatesAt');
    }
    return rotated;
  }
}
