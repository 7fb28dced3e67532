import { type DynamicModule, Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown, type OnModuleInit, type Provider } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { DataSource } from 'typeorm';
import type { ProviderConfig } from '@ciba/config';
import { type Clock, systemClock } from '@ciba/domain';
import {
  PersistenceModule,
  TypeOrmAuditRepository,
  TypeOrmAuditChain,
  TypeOrmEvidenceRecordRepository,
  TypeOrmEvidenceRecordQuery,
  TypeOrmAuthRequestRepository,
  TypeOrmCallbackDeliveryRepository,
  TypeOrmClientRepository,
  PostgresClientChangeFeed,
  PostgresAccessTokenRevocations,
  TypeOrmClientRegistrationRepository,
  TypeOrmDecisionTokenRepository,
  TypeOrmRefreshTokenRepository,
  TypeOrmSigningKeyRepository,
  TypeOrmUserRepository,
  TypeOrmDeviceRepository,
  TypeOrmEnrolmentTokenRepository,
  PostgresNotificationLimiter,
  PostgresPromptClaims,
  PostgresClientAuthFailureCounter,
  PostgresUserCodeAttempts,
  TypeOrmUserCodeStore,
  TypeOrmPasskeyRepository,
  TypeOrmWebAuthnChallengeRepository,
  type PersistenceOptions,
} from '@ciba/persistence';
import { AuthReqIds, DpopProofVerifier, KeyEncryptor, KeyStore, RequestObjectVerifier, SecretHasher, TokenMinter } from '@ciba/tokens';
import { CachedClientRepository } from './di/cached-client-repository.js';
import { ClientNotificationTokenSealer } from './di/client-notification-token-sealer.js';
import { deviceTargetSealer } from './di/device-target-sealer.js';
import { deferredRequestMarkerProviders } from './di/deferred-request-markers.js';
import {
  AUDIT_CHAIN,
  AUDIT_REPOSITORY,
  EVIDENCE_RECORD_REPOSITORY,
  EVIDENCE_RECORD_QUERY,
  AUTH_REQUEST_REPOSITORY,
  CALLBACK_DELIVERY_REPOSITORY,
  CLIENT_REPOSITORY,
  CLOCK,
  DECISION_TOKEN_REPOSITORY,
  EVENT_PUBLISHER,
  PENDING_POLL_CACHE,
  PROVIDER_CONFIG,
  REFRESH_TOKEN_REPOSITORY,
  ACCESS_TOKEN_REVOCATIONS,
  USER_REPOSITORY,
  DEVICE_REPOSITORY,
  ENROLMENT_TOKEN_REPOSITORY,
  NOTIFICATION_LIMITER,
  PASSKEY_REPOSITORY,
  WEBAUTHN_CHALLENGE_REPOSITORY,
  CLIENT_AUTH_FAILURE_COUNTER,
  USER_CODE_ATTEMPTS,
  USER_CODE_STORE,
  PROMPT_CLAIMS,
  DEFERRED_REQUEST_MARKERS,
  CLIENT_REGISTRATIONS,
} from './di/tokens.js';
import { HealthController, ReadinessRegistry } from './health/health.js';
import { ClientAuthenticator } from './http/client-authenticator.js';
import { ClientCertificates } from './http/client-certificate.js';
import { HtmlErrorPages } from './http/oauth-exception.filter.js';
import { ClientAuthThrottle } from './http/client-auth-throttle.js';
import { clientAssertionProviders } from './http/client-assertions.providers.js';
import { TokenIssuer } from './issuance/token-issuer.js';
import { dpopProviders } from './issuance/dpop.providers.js';
import { SubjectMapper, subjectMapperProvider } from './issuance/pairwise-subjects.js';
import { pinoParams } from './logging/logging.js';
import { FlowTracing } from './tracing/flow-tracing.js';
import { tracingProviders } from './tracing/tracing.providers.js';
import { MetricsServer } from './metrics/metrics-http.js';
import { ProviderMetrics } from './metrics/provider-metrics.js';
import { KEY_ROTATION_OPTIONS, KeyRotationScheduler, keyRotationOptions } from './keys/key-rotation.scheduler.js';

/**
 * The connection pool of a service: its size, a connect timeout, PostgreSQL's statement timeout, and
 * the service's name in `pg_stat_activity`. TLS comes from the URL (`sslmode=verify-full`, …).
 */
export function databaseOptions(config: ProviderConfig): PersistenceOptions {
  return {
    url: config.database.url,
    poolSize: config.database.poolSize,
    connectTimeoutMs: config.database.connectTimeoutMs,
    statementTimeoutMs: config.database.statementTimeoutMs,
    applicationName: `ciba-${config.service}`,
  };
}

export interface CoreModuleOptions {
  /** Binds EVENT_PUBLISHER and PENDING_POLL_CACHE: `jetStreamBus` for services, `inProcessBus` for the all-in-one. */
  readonly bus: readonly Provider[];
  /** Replaces the system clock (tests that travel in time). */
  readonly clock?: Clock;
  /** Services that sign or verify tokens load the key store; the audit service does not. */
  readonly keys: boolean;
  readonly extraProviders?: readonly Provider[];
  /** Where log lines go instead of stdout (a test that reads the logs). */
  readonly logDestination?: DestinationStream;
}

/** How often every replica reloads the signing keys. */
export const KEY_REFRESH_INTERVAL_MS = 60_000;
/**
 * A rotated-in key signs only after every replica has reloaded it and relying parties' JWKS caches
 * (max-age 60 s) have had time to see it.
 */
export const KEY_ACTIVATION_DELAY_MS = 2 * KEY_REFRESH_INTERVAL_MS;

/** Keeps every replica's view of the signing keys current after a rotation elsewhere. */
@Injectable()
class KeyRefresher implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('KeyRefresher');
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly keyStore: KeyStore) {}
  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.keyStore.refresh().catch((err: unknown) => this.logger.warn({ err }, 'could not refresh signing keys'));
    }, KEY_REFRESH_INTERVAL_MS);
    this.timer.unref();
  }
  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

@Injectable()
class DatabaseReadiness implements OnModuleInit {
  constructor(
    private readonly readiness: ReadinessRegistry,
    @Inject(DataSource) private readonly dataSource: DataSource,
  ) {}
  onModuleInit(): void {
    this.readiness.register('database', async () => {
      await this.dataSource.query('SELECT 1');
    });
  }
}

/**
 * The composition root shared by every service: configuration, logging, health, persistence adapters
 * bound to the domain ports, keys and client authentication. Apps add their service module and the
 * event publisher of their deployment shape.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: ProviderConfig, options: CoreModuleOptions): DynamicModule {
    const clock = options.clock ?? systemClock;
    const keyProviders: Provider[] = options.keys
      ? [
          { provide: KeyEncryptor, useFactory: () => new KeyEncryptor(config.keys.encryptionKey) },
          { provide: AuthReqIds, useFactory: () => new AuthReqIds(config.keys.encryptionKey) },
          ClientNotificationTokenSealer,
          {
            provide: DEVICE_REPOSITORY,
            inject: [DataSource, KeyEncryptor],
            useFactory: (dataSource: DataSource, encryptor: KeyEncryptor) => new TypeOrmDeviceRepository(dataSource, deviceTargetSealer(encryptor)),
          },
          {
            provide: KeyStore,
            inject: [TypeOrmSigningKeyRepository, KeyEncryptor],
            useFactory: async (repository: TypeOrmSigningKeyRepository, encryptor: KeyEncryptor) => {
              const keyStore = new KeyStore({ repository, encryptor, clock, algs: config.keys.signingAlgs, activationDelayMs: KEY_ACTIVATION_DELAY_MS });
              await keyStore.init();
              return keyStore;
            },
          },
          {
            provide: TokenMinter,
            inject: [KeyStore],
            useFactory: (keyStore: KeyStore) =>
              new TokenMinter({
                keyStore,
                issuer: config.issuer,
                clock,
                accessTokenTtl: config.tokens.accessTokenTtl,
                idTokenTtl: config.tokens.idTokenTtl,
                refreshTokenTtl: config.tokens.refreshTokenTtl,
              }),
          },
          KeyRefresher,
          { provide: KEY_ROTATION_OPTIONS, useValue: keyRotationOptions(config, KEY_REFRESH_INTERVAL_MS) },
          KeyRotationScheduler,
          subjectMapperProvider(config),
          TokenIssuer,
          ...dpopProviders(config, clock),
        ]
      : [];
    const exported = [
      PROVIDER_CONFIG,
      CLOCK,
      CLIENT_REPOSITORY,
      USER_REPOSITORY,
      AUTH_REQUEST_REPOSITORY,
      DECISION_TOKEN_REPOSITORY,
      REFRESH_TOKEN_REPOSITORY,
      ACCESS_TOKEN_REVOCATIONS,
      AUDIT_REPOSITORY,
      AUDIT_CHAIN,
      EVIDENCE_RECORD_REPOSITORY,
      EVIDENCE_RECORD_QUERY,
      CALLBACK_DELIVERY_REPOSITORY,
      ENROLMENT_TOKEN_REPOSITORY,
      NOTIFICATION_LIMITER,
      PROMPT_CLAIMS,
      DEFERRED_REQUEST_MARKERS,
      PASSKEY_REPOSITORY,
      WEBAUTHN_CHALLENGE_REPOSITORY,
      USER_CODE_STORE,
      USER_CODE_ATTEMPTS,
      CLIENT_REGISTRATIONS,
      ClientAuthThrottle,
      EVENT_PUBLISHER,
      PENDING_POLL_CACHE,
      SecretHasher,
      ClientAuthenticator,
      ClientCertificates,
      RequestObjectVerifier,
      ReadinessRegistry,
      HtmlErrorPages,
      ProviderMetrics,
      FlowTracing,
      ...(options.keys ? [KeyEncryptor, DEVICE_REPOSITORY, KeyStore, TokenMinter, TokenIssuer, SubjectMapper] : []),
      ...(options.keys ? [AuthReqIds, ClientNotificationTokenSealer] : []),
      ...(options.keys ? [DpopProofVerifier] : []),
    ];
    return {
      module: CoreModule,
      imports: [LoggerModule.forRoot(pinoParams(config.service, config.log.level, options.logDestination)), PersistenceModule.forRoot(databaseOptions(config))],
      controllers: [HealthController],
      providers: [
        { provide: PROVIDER_CONFIG, useValue: config },
        { provide: CLOCK, useValue: clock },
        {
          provide: CLIENT_REPOSITORY,
          inject: [TypeOrmClientRepository, PostgresClientChangeFeed],
          useFactory: (inner: TypeOrmClientRepository, changes: PostgresClientChangeFeed) => {
            const cached = new CachedClientRepository(inner);
            cached.follow(changes);
            return cached;
          },
        },
        { provide: USER_REPOSITORY, useExisting: TypeOrmUserRepository },
        { provide: AUTH_REQUEST_REPOSITORY, useExisting: TypeOrmAuthRequestRepository },
        { provide: DECISION_TOKEN_REPOSITORY, useExisting: TypeOrmDecisionTokenRepository },
        { provide: REFRESH_TOKEN_REPOSITORY, useExisting: TypeOrmRefreshTokenRepository },
        { provide: ACCESS_TOKEN_REVOCATIONS, useExisting: PostgresAccessTokenRevocations },
        { provide: AUDIT_REPOSITORY, useExisting: TypeOrmAuditRepository },
        { provide: EVIDENCE_RECORD_REPOSITORY, useExisting: TypeOrmEvidenceRecordRepository },
        { provide: EVIDENCE_RECORD_QUERY, useExisting: TypeOrmEvidenceRecordQuery },
        { provide: AUDIT_CHAIN, useExisting: TypeOrmAuditChain },
        { provide: CALLBACK_DELIVERY_REPOSITORY, useExisting: TypeOrmCallbackDeliveryRepository },
        { provide: ENROLMENT_TOKEN_REPOSITORY, useExisting: TypeOrmEnrolmentTokenRepository },
        { provide: NOTIFICATION_LIMITER, useExisting: PostgresNotificationLimiter },
        { provide: PROMPT_CLAIMS, useExisting: PostgresPromptClaims },
        ...deferredRequestMarkerProviders,
        { provide: PASSKEY_REPOSITORY, useExisting: TypeOrmPasskeyRepository },
        { provide: WEBAUTHN_CHALLENGE_REPOSITORY, useExisting: TypeOrmWebAuthnChallengeRepository },
        { provide: SecretHasher, useFactory: () => new SecretHasher({ concurrency: config.clientAuth.hashConcurrency, queueLimit: config.clientAuth.hashQueueLimit }) },
        { provide: CLIENT_AUTH_FAILURE_COUNTER, useExisting: PostgresClientAuthFailureCounter },
        { provide: USER_CODE_STORE, useExisting: TypeOrmUserCodeStore },
        { provide: USER_CODE_ATTEMPTS, useExisting: PostgresUserCodeAttempts },
        { provide: CLIENT_REGISTRATIONS, useExisting: TypeOrmClientRegistrationRepository },
        ClientAuthThrottle,
        ...clientAssertionProviders(config, clock),
        ClientAuthenticator,
        ClientCertificates,
        ReadinessRegistry,
        HtmlErrorPages,
        DatabaseReadiness,
        ...tracingProviders,
        ProviderMetrics,
        MetricsServer,
        ...options.bus,
        ...keyProviders,
        ...(options.extraProviders ?? []),
      ],
      exports: exported,
    };
  }
}
