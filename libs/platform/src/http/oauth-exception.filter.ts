import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Injectable, Logger } from '@nestjs/common';
import { BaseRpcExceptionFilter } from '@nestjs/microservices';
import type { Request, Response } from 'express';
import { OAuthError, toErrorResponse } from '@ciba/protocol';

/**
 * The one serializer for protocol endpoints: bodies are exactly `{error, error_description}`.
 * Framework errors (body parser failures, payload too large) become `invalid_request`; anything
 * unexpected is `500 server_error` with no detail in the response and the full error in the log.
 */
@Catch()
export class OAuthExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OAuthExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const response = toErrorResponse(fromFrameworkError(exception));
    if (!response.expected) {
      this.logger.error({ err: exception }, 'unexpected error on a protocol endpoint');
    }
    if (res.headersSent) return;
    res.status(response.status);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
    res.json(response.body);
  }
}

const FRAMEWORK_DESCRIPTIONS: Readonly<Record<number, string>> = {
  404: 'not found',
  405: 'method not allowed',
  413: 'request body too large',
  415: 'unsupported content type',
};

function fromFrameworkError(exception: unknown): unknown {
  if (exception instanceof OAuthError) return exception;
  // A body parser's verify hook refuses a body with an OAuthError; Nest wraps it on the way.
  if (exception instanceof HttpException && exception.cause instanceof OAuthError) return exception.cause;
  // body-parser errors carry `type` and `status`; Nest maps most of them to an HttpException
  const status = exception instanceof HttpException ? exception.getStatus() : bodyParserStatus(exception);
  if (status !== null && status >= 400 && status < 500) {
    return new OAuthError('invalid_request', FRAMEWORK_DESCRIPTIONS[status] ?? 'the request could not be parsed', { status });
  }
  return exception;
}

function bodyParserStatus(exception: unknown): number | null {
  if (typeof exception === 'object' && exception !== null && 'type' in exception && 'status' in exception) {
    return Number((exception as { status: unknown }).status);
  }
  return null;
}

/**
 * Paths people read in a browser (the approval and enrolment pages, the development inbox): their
 * errors raised outside any controller — an unmatched route, an unreadable body — are rendered by
 * the page's own filter instead of as OAuth JSON. The modules that own the pages register them.
 */
@Injectable()
export class HtmlErrorPages {
  private readonly pages: Array<{ readonly prefix: string; readonly filter: ExceptionFilter }> = [];

  /** `prefix` is a path such as `/approve`: it covers `/approve` and everything below it. */
  register(prefix: string, filter: ExceptionFilter): void {
    this.pages.push({ prefix, filter });
  }

  filterFor(path: string): ExceptionFilter | null {
    return this.pages.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`))?.filter ?? null;
  }
}

/**
 * The global filter: what no controller's filter caught — unmatched routes (404), body-parser
 * failures before routing (400, 413, 415), errors on controllers without a filter — is answered in
 * the OAuth error format with `no-store`, or as an HTML page under a registered page path. Bus
 * handlers inherit the global filters; their errors keep Nest's RPC handling.
 */
@Catch()
export class FallbackExceptionFilter implements ExceptionFilter {
  private readonly oauth = new OAuthExceptionFilter();
  private readonly rpc = new BaseRpcExceptionFilter();

  constructor(private readonly pages: HtmlErrorPages) {}

  catch(exception: unknown, host: ArgumentsHost): unknown {
    if (host.getType() !== 'http') return this.rpc.catch(exception, host);
    const req = host.switchToHttp().getRequest<Request>();
    // Deliberate 5xx answers with a body of their own (readiness: 503 not_ready) keep it.
    if (exception instanceof HttpException && exception.getStatus() >= 500) return sendOwnBody(host.switchToHttp().getResponse<Response>(), exception);
    return (this.pages.filterFor(req.path) ?? this.oauth).catch(exception, host);
  }
}

function sendOwnBody(res: Response, exception: HttpException): void {
  if (res.headersSent) return;
  res.status(exception.getStatus());
  res.setHeader('Cache-Control', 'no-store');
  res.json(exception.getResponse());
}
