export { createDataSource, createDataSourceOptions, runMigrations, MIGRATIONS } from './data-source.js';
export type { PersistenceOptions } from './data-source.js';
export { ENTITIES } from './entities.js';
export { PersistenceModule } from './persistence.module.js';
export type { PersistenceModuleOptions } from './persistence.module.js';

export { TypeOrmClientRepository } from './client/client.repository.js';
export { TypeOrmUserRepository } from './user/user.repository.js';
export { normalisePhoneNumber } from './user/user.mapper.js';
export { TypeOrmAuthRequestRepository } from './auth-request/auth-request.repository.js';
export { TypeOrmDecisionTokenRepository } from './decision-token/decision-token.repository.js';
export { TypeOrmRefreshTokenRepository } from './refresh-token/refresh-token.repository.js';
export { TypeOrmSigningKeyRepository } from './signing-key/signing-key.repository.js';
export { TypeOrmAuditRepository } from './audit/audit.repository.js';
export { PostgresDurableQueueStore } from './queue/durable-queue.store.js';
export type { DeadLetter } from './queue/queue.mapper.js';

export { ClientEntity } from './client/client.entity.js';
export { UserEntity } from './user/user.entity.js';
export { AuthRequestEntity } from './auth-request/auth-request.entity.js';
export { DecisionTokenEntity } from './decision-token/decision-token.entity.js';
export { RefreshTokenEntity } from './refresh-token/refresh-token.entity.js';
export { SigningKeyEntity } from './signing-key/signing-key.entity.js';
export { AuditRecordEntity } from './audit/audit-record.entity.js';
export { QueuedMessageEntity } from './queue/queued-message.entity.js';
export { DeadLetterEntity } from './queue/dead-letter.entity.js';
export { InitialSchema1700000000000 } from './migrations/1700000000000-initial-schema.js';
