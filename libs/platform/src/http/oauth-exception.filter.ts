import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { OAuthError, type OAuthErrorCode, toErrorResponse } from '@ciba/protocol';

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

function fromFrameworkError(exception: unknown): unknown {
  if (exception instanceof OAuthError) return exception;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return new OAuthError('invalid_request', 'not found', { status: 404 });
    if (status === 413) return new OAuthError('invalid_request', 'request body too large', { status: 413 });
    if (status === 415) return new OAuthError('invalid_request', 'unsupported content type', { status: 415 });
    if (status >= 400 && status < 500) return new OAuthError('invalid_request', 'the request could not be parsed');
  }
  // body-parser errors carry `type` and `status`
  if (typeof exception === 'object' && exception !== null && 'type' in exception && 'status' in exception) {
    const status = Number((exception as { status: unknown }).status);
    if (status >= 400 && status < 500) {
      const code: OAuthErrorCode = 'invalid_request';
      return new OAuthError(code, status === 413 ? 'request body too large' : 'the request body could not be parsed', { status });
    }
  }
  return exception;
}
