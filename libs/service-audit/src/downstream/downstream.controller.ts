import { All, Controller, HttpCode, Inject, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Clock } from '@ciba/domain';
import { OAuthError } from '@ciba/protocol';
import { CLOCK, NO_STORE_HEADERS, OAuthExceptionFilter, methodNotAllowed } from '@ciba/platform';
import { AuditApiClients } from '../api/audit-client.js';
import { AUDIT_REPORT_SCOPE, parseDownstreamReport, splitBody } from './downstream-report.js';
import { DownstreamReports } from './downstream-reports.service.js';

/**
 * `POST /audit/downstream`: a resource server or gateway reports the action it allowed or blocked
 * for an access token, named by its `jti`. The reporter is a registered client authenticating with
 * its own method (HTTP Basic, or its credentials among the JSON body's fields, or a client
 * assertion) and registered with the scope `ciba:audit.report`. Answers `202 {"event_id"}` once the
 * event is on the durable bus; the evidence record shows it after the audit consumer's next batch.
 */
@Controller('audit')
@UseFilters(OAuthExceptionFilter)
export class DownstreamController {
  constructor(
    private readonly clients: AuditApiClients,
    private readonly reports: DownstreamReports,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post('downstream')
  @HttpCode(202)
  async report(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ event_id: string }> {
    res.set(NO_STORE_HEADERS);
    if (!req.is('application/json')) throw new OAuthError('invalid_request', 'the report must be a JSON object (Content-Type: application/json)', { status: 415 });
    const { credentials, report } = splitBody(req.body);
    const client = await this.clients.authenticate(req, credentials, AUDIT_REPORT_SCOPE);
    const now = this.clock.now();
    const eventId = await this.reports.report(parseDownstreamReport(report, client.clientId, now), now);
    return { event_id: eventId };
  }

  @All('downstream')
  otherMethods(): never {
    throw methodNotAllowed('POST');
  }
}
