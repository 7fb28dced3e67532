import { Inject, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown, Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TypeOrmAuditRepository } from './audit/audit.repository.js';
import { TypeOrmEvidenceRecordRepository } from './audit/evidence-record.repository.js';
import { TypeOrmEvidenceRecordQuery } from './audit/evidence-record.query.js';
import { TypeOrmAuditChain } from './audit/audit-chain.repository.js';
import { TypeOrmCallbackDeliveryRepository } from './callback-delivery/callback-delivery.repository.js';
import { TypeOrmAuthRequestRepository } from './auth-request/auth-request.repository.js';
import { TypeOrmClientRepository } from './client/client.repository.js';
import { TypeOrmClientRegistrationRepository } from './client/client-registration.repository.js';
import { PostgresClientChangeFeed } from './client/client-change-feed.js';
import { PostgresAccessTokenRevocations } from './access-token/access-token-revocations.js';
import { createDataSource } from './data-source.js';
import type { PersistenceOptions } from './data-source.js';
import { TypeOrmDecisionTokenRepository } from './decision-token/decision-token.repository.js';
import { PostgresDurableQueueStore } from './queue/durable-queue.store.js';
import { TypeOrmRefreshTokenRepository } from './refresh-token/refresh-token.repository.js';
import { TypeOrmSigningKeyRepository } from './signing-key/signing-key.repository.js';
import { TypeOrmUserRepository } from './user/user.repository.js';
import { TypeOrmEnrolmentTokenRepository } from './device/enrolment-token.repository.js';
import { PostgresNotificationLimiter } from './notification/notification-limiter.js';
import { PostgresPromptClaims } from './notification/prompt-claims.js';
import { PostgresClientAuthFailureCounter } from './client-auth/client-auth-failure.counter.js';
import { PostgresClientAssertionJtis } from './client-auth/client-assertion-jtis.js';
import { TypeOrmPasskeyRepository } from './passkey/passkey.repository.js';
import { TypeOrmWebAuthnChallengeRepository } from './passkey/webauthn-challenge.repository.js';
import { PostgresUserCodeAttempts, TypeOrmUserCodeStore } from './user-code/user-code.repository.js';
import { PostgresPairwiseSubjects } from './pairwise-subject/pairwise-subject.repository.js';

export interface PersistenceModuleOptions extends PersistenceOptions {
  /** Register the providers globally (default false: import the module where it is needed). */
  readonly isGlobal?: boolean;
}

const REPOSITORIES = [
  TypeOrmClientRepository,
  TypeOrmClientRegistrationRepository,
  TypeOrmUserRepository,
  TypeOrmAuthRequestRepository,
  TypeOrmDecisionTokenRepository,
  TypeOrmRefreshTokenRepository,
  TypeOrmSigningKeyRepository,
  TypeOrmAuditRepository,
  TypeOrmEvidenceRecordRepository,
  TypeOrmEvidenceRecordQuery,
  TypeOrmAuditChain,
  TypeOrmCallbackDeliveryRepository,
  PostgresDurableQueueStore,
  TypeOrmEnrolmentTokenRepository,
  PostgresNotificationLimiter,
  PostgresPromptClaims,
  PostgresClientAuthFailureCounter,
  PostgresClientAssertionJtis,
  TypeOrmPasskeyRepository,
  TypeOrmWebAuthnChallengeRepository,
  TypeOrmUserCodeStore,
  PostgresUserCodeAttempts,
  PostgresPairwiseSubjects,
  PostgresClientChangeFeed,
  PostgresAccessTokenRevocations,
] as const;

/**
 * The DataSource (token: the `DataSource` class) and every repository (token: its class). It does
 * not run migrations: that is the migrate job's work, once per release, not every start.
 */
@Module({})
export class PersistenceModule implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(PostgresClientChangeFeed) private readonly clientChanges: PostgresClientChangeFeed,
  ) {}

  static forRoot(options: PersistenceModuleOptions): DynamicModule {
    const dataSourceProvider: Provider = {
      provide: DataSource,
      useFactory: async () => createDataSource(options).initialize(),
    };
    const repositoryProviders: Provider[] = REPOSITORIES.map((repository) =>
      repository === TypeOrmAuditRepository
        ? // The trail's appends write the evidence records too: one repository instance remembers what it wrote.
          {
            provide: repository,
            useFactory: (dataSource: DataSource, evidence: TypeOrmEvidenceRecordRepository) => new TypeOrmAuditRepository(dataSource, evidence),
            inject: [DataSource, TypeOrmEvidenceRecordRepository],
          }
        : { provide: repository, useFactory: (dataSource: DataSource) => new repository(dataSource), inject: [DataSource] },
    );
    return {
      module: PersistenceModule,
      global: options.isGlobal ?? false,
      providers: [dataSourceProvider, ...repositoryProviders],
      exports: [DataSource, ...REPOSITORIES],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.clientChanges.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
