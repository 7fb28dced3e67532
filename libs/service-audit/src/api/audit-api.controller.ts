import { All, Controller, Get, HttpCode, Logger, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { NO_STORE_HEADERS, OAuthExceptionFilter, formParamsOf, methodNotAllowed } from '@ciba/platform';
import { FormParams, invalidRequest, parseFormParams } from '@ciba/protocol';
import { AUDIT_READ_SCOPE, AuditApiClients } from './audit-client.js';
import { type AuditQuery, CREDENTIAL_PARAMETERS, parseAuditQuery } from './audit-query.params.js';
import { type AuditRecordsPage, AuditRecords } from './audit-records.service.js';
import { ocsfAuthentication } from './ocsf.js';

export const AUDIT_RECORDS_PATH = '/audit/records';
export const AUDIT_EXPORT_PATH = '/audit/export';
/** Records read per statement while exporting: one page of the keyset at a time, never the whole result. */
export const EXPORT_PAGE_SIZE = 500;
export const NDJSON = 'application/x-ndjson';

/**
 * The audit API: evidence records by filters, for clients registered with `ciba:audit.read`.
 * `GET` takes the filters in the query string and credentials in headers only (HTTP Basic, or a
 * client certificate with `client_id`); `POST` takes a form of filters and any client
 * authentication, like RFC 7662 introspection. `/audit/records` answers JSON pages,
 * `/audit/export` streams JSON Lines.
 */
@Controller('audit')
@UseFilters(OAuthExceptionFilter)
export class AuditApiController {
  private readonly logger = new Logger(AuditApiController.name);

  constructor(
    private readonly clients: AuditApiClients,
    private readonly records: AuditRecords,
  ) {}

  @Get('records')
  async recordsByQuery(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<AuditRecordsPage> {
    res.set(NO_STORE_HEADERS);
    return this.records.page(await this.authorized(req, queryParams(req), 'page'));
  }

  @Post('records')
  @HttpCode(200)
  async recordsByForm(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<AuditRecordsPage> {
    res.set(NO_STORE_HEADERS);
    return this.records.page(await this.authorized(req, formParamsOf(req), 'page'));
  }

  @Get('export')
  async exportByQuery(@Req() req: Request, @Res() res: Response): Promise<void> {
    res.set(NO_STORE_HEADERS);
    await this.export(await this.authorized(req, queryParams(req), 'export'), res);
  }

  @Post('export')
  async exportByForm(@Req() req: Request, @Res() res: Response): Promise<void> {
    res.set(NO_STORE_HEADERS);
    await this.export(await this.authorized(req, formParamsOf(req), 'export'), res);
  }

  @All(['records', 'export'])
  otherMethods(): never {
    throw methodNotAllowed('GET, POST');
  }

  /**
   * The caller authenticated and holding the read scope, then its filters. `client_id` is a filter,
   * except when it is how the caller names itself (client_secret_post, RFC 6749 §2.3.1; mutual TLS,
   * RFC 8705 §2): with HTTP Basic or a client assertion the caller is named by those.
   */
  private async authorized(req: Request, params: FormParams, kind: 'page' | 'export'): Promise<AuditQuery> {
    const namesCaller = typeof req.headers.authorization !== 'string' && !params.has('client_assertion') && !params.has('client_assertion_type');
    const isCredential = (name: string) => CREDENTIAL_PARAMETERS.has(name) || (name === 'client_id' && namesCaller);
    const pick = (keep: (name: string) => boolean) => new FormParams(params.names().filter(keep).map((name) => [name, params.get(name) ?? ''] as const));
    await this.clients.authenticate(req, pick(isCredential), AUDIT_READ_SCOPE);
    return parseAuditQuery(pick((name) => !isCredential(name)), kind);
  }

  /**
   * JSON Lines, page by page through the keyset: a page is read only once the previous one has been
   * taken by the connection (`drain`), so a slow reader holds one page in memory, not the result.
   * Up to `query.limit` records (at most `MAX_EXPORT_RECORDS`); when more remain, a last line
   * `{"next_cursor": …}` continues with the same filters. The first page is read before the status
   * line, so a failure there is still a JSON error; a failure later cuts the stream (no final line
   * break), which a reader can tell from a complete export.
   */
  private async export(query: AuditQuery, res: Response): Promise<void> {
    let after = this.records.start(query);
    let remaining = query.limit;
    let sent = 0;
    try {
      for (;;) {
        const page = await this.records.read(query.filters, after, Math.min(EXPORT_PAGE_SIZE, remaining));
        if (!res.headersSent) res.status(200).set('Content-Type', NDJSON);
        const lines = page.records.map((record) => `${JSON.stringify({ ...record, ...ocsfAuthentication(record) })}\n`).join('');
        sent += page.records.length;
        remaining -= page.records.length;
        if (lines.length > 0 && !(await written(res, lines))) return;
        if (page.next === null) break;
        if (remaining === 0) {
          await written(res, `${JSON.stringify({ next_cursor: this.records.sealCursor(page.next, query.filters) })}\n`);
          break;
        }
        after = page.next;
      }
      res.end();
      this.logger.debug({ records: sent }, 'audit export streamed');
    } catch (err) {
      if (!res.headersSent) throw err;
      this.logger.error({ err, records: sent }, 'audit export cut short');
      res.destroy();
    }
  }
}

/** Query-string parameters, with the form rules (no repeats, bounded lengths); credentials never in a URL, where logs keep them. */
function queryParams(req: Request): FormParams {
  const params = parseFormParams(req.query);
  if (params.names().some((name) => CREDENTIAL_PARAMETERS.has(name))) {
    throw invalidRequest('client credentials must not be sent in the URL; use the Authorization header or POST');
  }
  return params;
}

/** Writes `chunk`; resolves once the connection can take more (true) or has closed (false). */
async function written(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(chunk)) return true;
  return new Promise((resolve) => {
    const settle = (open: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(open);
    };
    const onDrain = () => settle(true);
    const onClose = () => settle(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
