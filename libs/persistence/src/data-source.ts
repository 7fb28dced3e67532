import { DataSource } from 'typeorm';
import type { DataSourceOptions, Migration } from 'typeorm';
import { ENTITIES } from './entities.js';
import { InitialSchema1700000000000 } from './migrations/1700000000000-initial-schema.js';
import { CallbackDeliveries1700000100000 } from './migrations/1700000100000-callback-deliveries.js';
import { UserChannels1700000200000 } from './migrations/1700000200000-user-channels.js';
import { DeviceOwnership1700000300000 } from './migrations/1700000300000-device-ownership.js';
import { ClientLimits1700000500000 } from './migrations/1700000500000-client-limits.js';
import { AtomicDecisions1700000400000 } from './migrations/1700000400000-atomic-decisions.js';
import { CredentialsAtRest1700000700000 } from './migrations/1700000700000-credentials-at-rest.js';
import { CallbackAttemptLease1700000800000 } from './migrations/1700000800000-callback-attempt-lease.js';
import { PromptClaims1700001100000 } from './migrations/1700001100000-prompt-claims.js';
import { FlowTraceContext1700001200000 } from './migrations/1700001200000-flow-trace-context.js';
import { ClientAssertions1700001300000 } from './migrations/1700001300000-client-assertions.js';
import { RequestSigningAlg1700001400000 } from './migrations/1700001400000-request-signing-alg.js';
import { UserCodes1700001500000 } from './migrations/1700001500000-user-codes.js';
import { DpopClients1700001600000 } from './migrations/1700001600000-dpop-clients.js';
import { ClientRegistrations1700001900000 } from './migrations/1700001900000-client-registrations.js';
import { MutualTlsClients1700001700000 } from './migrations/1700001700000-mutual-tls-clients.js';
import { ClientProfiles1700002200000 } from './migrations/1700002200000-client-profiles.js';
import { AuditEvidenceRecords1700002300000 } from './migrations/1700002300000-audit-evidence-records.js';
import { PairwiseSubjects1700002000000 } from './migrations/1700002000000-pairwise-subjects.js';
import { Usernames1700001800000 } from './migrations/1700001800000-usernames.js';
import { AuditChain1700002400000 } from './migrations/1700002400000-audit-chain.js';
import { AuditEvidenceRecordsByTime1700002500000 } from './migrations/1700002500000-audit-evidence-records-by-time.js';
import { AuditRetention1700002600000 } from './migrations/1700002600000-audit-retention.js';
import { AccessTokenJtis1700002700000 } from './migrations/1700002700000-access-token-jtis.js';
import { AccessTokenRevocation1700003000000 } from './migrations/1700003000000-access-token-revocation.js';
import { ClientChangeNotifications1700002900000 } from './migrations/1700002900000-client-change-notifications.js';
import { StepUpApprovals1700002800000 } from './migrations/1700002800000-step-up-approvals.js';

/** Every migration in order, listed explicitly (no globs). */
export const MIGRATIONS = [
  InitialSchema1700000000000,
  CallbackDeliveries1700000100000,
  UserChannels1700000200000,
  DeviceOwnership1700000300000,
  AtomicDecisions1700000400000,
  ClientLimits1700000500000,
  CredentialsAtRest1700000700000,
  CallbackAttemptLease1700000800000,
  PromptClaims1700001100000,
  FlowTraceContext1700001200000,
  ClientAssertions1700001300000,
  RequestSigningAlg1700001400000,
  UserCodes1700001500000,
  DpopClients1700001600000,
  MutualTlsClients1700001700000,
  Usernames1700001800000,
  ClientRegistrations1700001900000,
  PairwiseSubjects1700002000000,
  ClientProfiles1700002200000,
  AuditEvidenceRecords1700002300000,
  AuditChain1700002400000,
  AuditEvidenceRecordsByTime1700002500000,
  AuditRetention1700002600000,
  AccessTokenJtis1700002700000,
  StepUpApprovals1700002800000,
  ClientChangeNotifications1700002900000,
  AccessTokenRevocation1700003000000,
] as const;

export interface PersistenceOptions {
  /** `postgres://user:password@host:port/database` */
  readonly url: string;
  /** Connections in the pool (node-postgres default: 10). */
  readonly poolSize?: number;
  /** Log every SQL statement through TypeORM's logger; for debugging only. */
  readonly logging?: boolean;
  /** How long opening a connection may take (node-postgres default: no limit). */
  readonly connectTimeoutMs?: number;
  /** PostgreSQL's `statement_timeout` for every connection: a statement running longer is cancelled. 0: none. */
  readonly statementTimeoutMs?: number;
  /** Shown in `pg_stat_activity` (e.g. `ciba-token`). */
  readonly applicationName?: string;
}

export function createDataSourceOptions(options: PersistenceOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: options.url,
    poolSize: options.poolSize,
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMS: options.connectTimeoutMs } : {}),
    ...(options.applicationName !== undefined ? { applicationName: options.applicationName } : {}),
    // TLS comes from the URL (`sslmode=verify-full&sslrootcert=…`, as libpq reads it).
    ...(options.statementTimeoutMs ? { extra: { statement_timeout: options.statementTimeoutMs } } : {}),
    logging: options.logging ?? false,
    entities: [...ENTITIES],
    migrations: [...MIGRATIONS],
    migrationsTableName: 'migrations',
    migrationsRun: false,
    // The schema belongs to the migrations; never let TypeORM alter it.
    synchronize: false,
  };
}

/** An uninitialised DataSource; call `initialize()` (Nest's PersistenceModule does). */
export function createDataSource(options: PersistenceOptions): DataSource {
  return new DataSource(createDataSourceOptions(options));
}

/** Arbitrary, fixed key of the advisory lock that serialises concurrent migration runs. */
const MIGRATION_LOCK_KEY = 7_402_318_551;

/**
 * Applies pending migrations, each in its own transaction. Meant for the one-off migrate job,
 * never for service start-up. A session advisory lock lets two migrators started together run
 * one after the other instead of racing on the same DDL.
 */
export async function runMigrations(dataSource: DataSource): Promise<Migration[]> {
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lock.release();
  }
}
