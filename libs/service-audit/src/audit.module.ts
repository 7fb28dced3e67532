import { Module } from '@nestjs/common';
import { AuditHandler } from './audit.handler.js';
import { AuditCheckpointScheduler } from './chain/audit-checkpoint.scheduler.js';
import { AuditRetentionScheduler } from './chain/audit-retention.scheduler.js';

/**
 * The audit service's bus side: needs `CoreModule` in the app and a bus server for its handler. Its
 * HTTP endpoints (`/audit/*`, client-authenticated) are `AuditApiModule`, so that a process that
 * only consumes the trail does not need client authentication.
 */
@Module({ controllers: [AuditHandler], providers: [AuditCheckpointScheduler, AuditRetentionScheduler] })
export class AuditModule {}
