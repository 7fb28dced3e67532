import { Module } from '@nestjs/common';
import { AuditApiController } from './audit-api.controller.js';
import { AuditApiClients } from './audit-client.js';
import { AuditRecords } from './audit-records.service.js';
import { DownstreamController } from '../downstream/downstream.controller.js';
import { DownstreamReports } from '../downstream/downstream-reports.service.js';

/**
 * The audit service's HTTP API (`/audit/*`: records and exports, downstream reports), apart from
 * `AuditModule`'s bus consumer: it needs the whole `CoreModule` with keys (client authentication,
 * auth_req_id verification, the evidence record query), which a process that only consumes the
 * trail does not. Every endpoint authenticates clients by scope with `AuditApiClients`.
 */
@Module({ controllers: [AuditApiController, DownstreamController], providers: [AuditApiClients, AuditRecords, DownstreamReports], exports: [AuditApiClients] })
export class AuditApiModule {}
