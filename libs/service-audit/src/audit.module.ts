import { Module } from '@nestjs/common';
import { AuditHandler } from './audit.handler.js';
import { AuditCheckpointScheduler } from './chain/audit-checkpoint.scheduler.js';

/** The audit service: needs `CoreModule` in the app and a bus server for its handler. */
@Module({ controllers: [AuditHandler], providers: [AuditCheckpointScheduler] })
export class AuditModule {}
