import { Module } from '@nestjs/common';
import { AuditHandler } from './audit.handler.js';

/** The audit service: needs `CoreModule` in the app and a bus server for its handler. */
@Module({ controllers: [AuditHandler] })
export class AuditModule {}
