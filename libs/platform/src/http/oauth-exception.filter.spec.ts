import { describe, expect, it } from '@jest/globals';
import { type ArgumentsHost, type ExceptionFilter, HttpException, NotFoundException, PayloadTooLargeException, ServiceUnavailableException } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { OAuthError } from '@ciba/protocol';
import { FallbackExceptionFilter, HtmlErrorPages, OAuthExceptionFilter } from './oauth-exception.filter.js';

function capture(exception: unknown, filter: ExceptionFilter = new OAuthExceptionFilter(), path = '/token') {
  const sent: { status?: number; headers: Record<string, string>; body?: unknown } = { headers: {} };
  const res = {
    headersSent: false,
    status(code: number) {
      sent.status = code;
      return res;
    },
    setHeader(name: string, value: string) {
      sent.headers[name.toLowerCase()] = value;
    },
    json(body: unknown) {
      sent.body = body;
    },
  };
  const host = { getType: () => 'http', switchToHttp: () => ({ getResponse: () => res, getRequest: () => ({ path }) }) } as unknown as ArgumentsHost;
  filter.catch(exception, host);
  return sent;
}

describe('OAuthExceptionFilter', () => {
  it('RFC 6749 §5.2 serializes an OAuth error as exactly {error, error_description}, not cacheable', () => {
    const sent = capture(new OAuthError('invalid_client', 'client authentication failed', { headers: { 'WWW-Authenticate': 'Basic realm="ciba"' } }));
    expect(sent.status).toBe(401);
    expect(sent.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(sent.headers['cache-control']).toBe('no-store');
    expect(sent.headers['www-authenticate']).toBe('Basic realm="ciba"');
  });

  it('an unexpected error is 500 server_error with no detail', () => {
    const sent = capture(new Error('connection to 10.0.0.5:5432 refused, password=hunter2'));
    expect(sent.status).toBe(500);
    expect(sent.body).toEqual({ error: 'server_error', error_description: 'the server encountered an unexpected condition' });
    expect(JSON.stringify(sent.body)).not.toContain('hunter2');
  });

  it('framework errors become invalid_request with their status, never Nest\'s default body', () => {
    expect(capture(new PayloadTooLargeException())).toMatchObject({ status: 413, body: { error: 'invalid_request' } });
    expect(capture(new NotFoundException())).toMatchObject({ status: 404, body: { error: 'invalid_request' } });
    const bodyParserError = Object.assign(new Error('Unexpected token'), { type: 'entity.parse.failed', status: 400 });
    expect(capture(bodyParserError)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });
});

describe('FallbackExceptionFilter', () => {
  const pageFilter: ExceptionFilter & { caught: unknown[] } = {
    caught: [],
    catch(exception: unknown) {
      this.caught.push(exception);
    },
  };
  const pages = new HtmlErrorPages();
  pages.register('/approve', pageFilter);
  const fallback = new FallbackExceptionFilter(pages);

  it('answers unmatched routes and body-parser failures in the OAuth error format, not cacheable', () => {
    expect(capture(new NotFoundException('Cannot GET /nothing'), fallback, '/nothing')).toMatchObject({
      status: 404,
      body: { error: 'invalid_request', error_description: 'not found' },
      headers: { 'cache-control': 'no-store' },
    });
    expect(capture(new HttpException('unsupported charset "KOI8-R"', 415), fallback, '/token')).toMatchObject({ status: 415, body: { error: 'invalid_request' } });
  });

  it('answers the OAuthError a body verify hook raised, even wrapped by Nest', () => {
    const refused = new OAuthError('invalid_request', 'the request body is not valid UTF-8');
    expect(capture(new HttpException(refused.message, 400, { cause: refused }), fallback, '/bc-authorize')).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', error_description: 'the request body is not valid UTF-8' },
    });
  });

  it('hands errors under a registered page path (and only there) to the page\'s own filter', () => {
    const notFound = new NotFoundException();
    expect(capture(notFound, fallback, '/approve/a/b').status).toBeUndefined();
    expect(capture(notFound, fallback, '/approve').status).toBeUndefined();
    expect(pageFilter.caught).toEqual([notFound, notFound]);
    expect(capture(notFound, fallback, '/approvex').status).toBe(404);
  });

  it('keeps a deliberate 5xx answer with its own body (readiness: 503 not_ready)', () => {
    expect(capture(new ServiceUnavailableException({ status: 'not_ready', checks: { database: 'down' } }), fallback, '/readyz')).toMatchObject({
      status: 503,
      body: { status: 'not_ready', checks: { database: 'down' } },
    });
  });

  it('leaves bus handler errors to Nest\'s RPC handling', async () => {
    const host = { getType: () => 'rpc' } as unknown as ArgumentsHost;
    const result = fallback.catch(new Error('handler failed'), host) as Parameters<typeof lastValueFrom>[0];
    await expect(lastValueFrom(result)).rejects.toEqual({ status: 'error', message: 'Internal server error' });
  });
});
